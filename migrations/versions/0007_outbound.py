"""Outbound sends: what to send, and each attempt recorded before the gateway is called.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-27
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute(
        """
alter table public.evolution_messages
  add column outgoing jsonb,
  add column send_attempts integer not null default 0,
  add column send_attempted_at timestamptz;
create index evolution_messages_queued_idx on public.evolution_messages (conversation_id)
  where status = 'queued';

-- Requests (role authenticated) must add outbox rows and learn their ids to publish them,
-- but may not read the outbox: INSERT ... RETURNING would need a SELECT policy. This definer
-- function inserts for the caller's own company only and returns what was written.
create function app.enqueue_outbox(p_company_id uuid, p_items jsonb)
returns table (id bigint, stream text, payload jsonb)
language plpgsql security definer set search_path = '' as $$
begin
  if auth.uid() is not null and p_company_id is distinct from app.current_company_id() then
    raise exception 'outbox entries only for the caller''s company'
      using errcode = 'insufficient_privilege';
  end if;
  return query
    insert into public.outbox as o (company_id, stream, payload)
    select p_company_id, i.stream, i.payload
    from jsonb_to_recordset(p_items) as i(stream text, payload jsonb)
    returning o.id, o.stream, o.payload;
end
$$;
revoke all on function app.enqueue_outbox(uuid, jsonb) from public;
grant execute on function app.enqueue_outbox(uuid, jsonb) to authenticated, service_role;
"""
    )


def downgrade() -> None:
    op.execute(
        """
drop function app.enqueue_outbox(uuid, jsonb);
drop index public.evolution_messages_queued_idx;
alter table public.evolution_messages
  drop column outgoing, drop column send_attempts, drop column send_attempted_at;
"""
    )
