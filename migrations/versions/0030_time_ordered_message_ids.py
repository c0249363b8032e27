"""Messages get time-ordered ids (UUIDv7), so a burst within one second keeps its order.

WhatsApp times messages in whole seconds, and a customer often sends three or four in one
second. Chats, their pages and caches order messages by (message_timestamp, id): with random
ids (gen_random_uuid) those bursts showed in a random order, and a chat reloaded after live
updates could reshuffle them. A UUIDv7 starts with its millisecond of creation, so same-second
messages now follow the order they were stored in (the order Evolution delivered them).
New primary-key entries also land at the index's right edge instead of on random pages.

Postgres 15 has no uuidv7() (18 does) and Supabase does not offer an extension for it: the
function below is RFC 9562's layout over gen_random_uuid()'s random bytes. Rows stored before
keep their ids; ids written by the application (outbound messages, whose timestamps have
microseconds) are unaffected.

Revision ID: 0030
Revises: 0029
Create Date: 2026-11-28
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0030"
down_revision: str | None = "0029"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute(
        """
create function app.time_ordered_uuid() returns uuid
language sql volatile parallel safe set search_path = pg_catalog, public, extensions as $$
  -- 48 bits of Unix time in milliseconds, then version 7 (bits 52-53 added to v4's 0100)
  -- and gen_random_uuid()'s variant and random bits.
  select encode(
    set_bit(set_bit(
      overlay(uuid_send(gen_random_uuid())
        placing substring(int8send((extract(epoch from clock_timestamp()) * 1000)::bigint) from 3)
        from 1 for 6),
      52, 1), 53, 1),
    'hex')::uuid
$$;
grant execute on function app.time_ordered_uuid() to authenticated, service_role;
alter table public.evolution_messages alter column id set default app.time_ordered_uuid();
"""
    )


def downgrade() -> None:
    op.execute(
        "alter table public.evolution_messages alter column id set default gen_random_uuid();"
        " drop function app.time_ordered_uuid();"
    )
