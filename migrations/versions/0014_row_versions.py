"""A version per message and conversation, bumped on every update.

The incoming-stream handlers read a row and publish it (Redis snapshot, live event) from
several batches at once, so an older read can land after a newer one. Readers keep the highest
version they have seen: a stale snapshot or event never replaces a newer one. The version is
bumped in a BEFORE UPDATE trigger, which runs after the row lock is taken, so it follows the
order in which the updates really happened (timestamps from `now()` do not: they are the
transaction's start time).

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-27
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TABLES = ("evolution_conversations", "evolution_messages")


def upgrade() -> None:
    op.execute(
        """
create function app.bump_version() returns trigger language plpgsql as $$
begin
  new.version := old.version + 1;
  return new;
end
$$;
"""
    )
    for table in _TABLES:
        # A constant default: no table rewrite, existing rows start at 1.
        op.execute(f"alter table public.{table} add column version bigint not null default 1")
        op.execute(
            f"create trigger {table}_version before update on public.{table} "
            "for each row execute function app.bump_version()"
        )


def downgrade() -> None:
    for table in _TABLES:
        op.execute(f"drop trigger if exists {table}_version on public.{table}")
        op.execute(f"alter table public.{table} drop column if exists version")
    op.execute("drop function if exists app.bump_version()")
