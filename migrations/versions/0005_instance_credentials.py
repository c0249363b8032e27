"""Instance tokens encrypted at rest, for REST calls to the gateway (the hash stays for webhooks).

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-27
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


_READABLE = (
    "id, company_id, external_id, server_url, webhook_url, connection_state, owner_jid,"
    " profile_name, last_event_at, created_at, updated_at"
)


def upgrade() -> None:
    op.execute("alter table public.evolution_instances add column api_key_ciphertext text")
    # Key material is for the backend only: users may read every other column (under RLS) but
    # neither the token's ciphertext nor its hash. A column revoke does not narrow a table
    # grant, so the table grant is replaced by a column list.
    op.execute("revoke select on public.evolution_instances from authenticated")
    op.execute(f"grant select ({_READABLE}) on public.evolution_instances to authenticated")


def downgrade() -> None:
    op.execute(f"revoke select ({_READABLE}) on public.evolution_instances from authenticated")
    op.execute("grant select on public.evolution_instances to authenticated")
    op.execute("alter table public.evolution_instances drop column api_key_ciphertext")
