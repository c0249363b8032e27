"""Connection updates applied in the gateway's order, not in arrival order.

Evolution delivers webhooks concurrently with independent retries (evolution-api.md §1.1, §6.2),
so `connecting` can arrive after `open`. The envelope's `date_time` is server-local time
mislabelled as UTC (§1.6) but it is monotonic for one server, which is all ordering needs.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-27
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute(
        "alter table public.evolution_instances add column connection_changed_at timestamptz"
    )
    op.execute(
        "grant select (connection_changed_at) on public.evolution_instances to authenticated"
    )


def downgrade() -> None:
    op.execute("alter table public.evolution_instances drop column connection_changed_at")
