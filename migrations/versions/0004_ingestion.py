"""Ingestion support: out-of-order updates parked until their message arrives, the status rule
in SQL, reactions, the conversation's last message, media state.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-27
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_UPGRADE = """
-- Same ranks as zapcrm.evolution.payloads.STATUS_RANK (a test compares them): ERROR sits
-- between SERVER_ACK and DELIVERY_ACK, so it beats an undelivered message and loses to a later
-- delivery ack; DELETED is a flag, never a status.
create function app.message_status_rank(status text) returns integer
language sql immutable parallel safe as $$
  select case status
    when 'queued' then 0 when 'PENDING' then 1 when 'SERVER_ACK' then 2 when 'ERROR' then 3
    when 'DELIVERY_ACK' then 4 when 'READ' then 5 when 'PLAYED' then 6
  end
$$;

create function app.status_advances(current_status text, new_status text) returns boolean
language sql immutable parallel safe as $$
  select app.message_status_rank(new_status) is not null
     and app.message_status_rank(new_status) > coalesce(app.message_status_rank(current_status), -1)
$$;

grant execute on function app.message_status_rank(text), app.status_advances(text, text)
  to authenticated, service_role;

alter table public.evolution_conversations add column last_message_id uuid;
alter table public.evolution_messages
  add column reactions jsonb not null default '{}'::jsonb,
  add column media_status text check (media_status in ('pending', 'stored', 'failed'));

-- Updates (status, edit, delete, reaction) that arrived before their message: deliveries are
-- concurrent and retried independently (evolution-api.md §6.2). Applied and removed when the
-- message is stored. Service-only: RLS on with no policy for `authenticated`.
create table public.evolution_pending_updates (
  id bigint generated always as identity primary key,
  company_id uuid not null references public.companies (id) on delete cascade,
  instance_id uuid not null references public.evolution_instances (id) on delete cascade,
  key_id text not null,
  kind text not null check (kind in ('status', 'edit', 'delete', 'reaction')),
  payload jsonb not null,
  received_at timestamptz not null default now()
);
create index evolution_pending_updates_key_idx
  on public.evolution_pending_updates (instance_id, key_id);
alter table public.evolution_pending_updates enable row level security;
revoke all on public.evolution_pending_updates from anon, authenticated;
grant all on public.evolution_pending_updates to service_role;
"""

_DOWNGRADE = """
drop table public.evolution_pending_updates;
alter table public.evolution_messages drop column reactions, drop column media_status;
alter table public.evolution_conversations drop column last_message_id;
drop function app.status_advances(text, text);
drop function app.message_status_rank(text);
"""


def upgrade() -> None:
    op.execute(_UPGRADE)


def downgrade() -> None:
    op.execute(_DOWNGRADE)
