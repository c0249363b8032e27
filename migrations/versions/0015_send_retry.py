"""Retrying a failed send: when someone last asked for it, so its time limits start again.

The send worker gives up on a message MAX_AGE after it was queued (gateway unavailable) and
the sweeper fails one held HOLD_LIMIT after it (instance disconnected). Both counted from
`created_at`; a message sent again from the panel an hour later would fail at its first
transient error. `retried_at` is the new start, `coalesce(retried_at, created_at)`.

Revision ID: 0015
Revises: 0014
Create Date: 2026-11-27
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute("alter table public.evolution_messages add column retried_at timestamptz")


def downgrade() -> None:
    op.execute("alter table public.evolution_messages drop column retried_at")
