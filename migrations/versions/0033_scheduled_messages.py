"""Messages scheduled for later: an agent writes now what a customer should get at a chosen
moment (an appointment reminder, "I'll send the boleto on Monday").

`scheduled_messages` holds the text, the moment and its fate: `scheduled` until the worker
queues it as an ordinary send (then `sent`, with the queued message), or `canceled` by someone
who may see the chat, or `failed` with the reason. Visibility follows the chat's, like notes.

Revision ID: 0033
Revises: 0032
Create Date: 2026-11-28
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0033"
down_revision: str | None = "0032"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_UPGRADE = """
create table public.scheduled_messages (
  id uuid primary key default gen_random_uuid(),
  company_id uuid not null,
  conversation_id uuid not null,
  created_by uuid,
  body text not null check (length(body) between 1 and 4096),
  send_at timestamptz not null,
  status text not null default 'scheduled'
    check (status in ('scheduled', 'sent', 'canceled', 'failed')),
  message_id uuid references public.evolution_messages (id) on delete set null,
  error text check (length(error) <= 500),
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  constraint scheduled_messages_conversation_id_fkey foreign key (company_id, conversation_id)
    references public.evolution_conversations (company_id, id) on delete cascade,
  constraint scheduled_messages_created_by_fkey foreign key (company_id, created_by)
    references public.profiles (company_id, id) on delete set null (created_by)
);
create trigger scheduled_messages_touch before update on public.scheduled_messages
  for each row execute function app.touch_updated_at();
-- The worker's question every few seconds: what is due now.
create index scheduled_messages_due_idx on public.scheduled_messages (send_at)
  where status = 'scheduled';
create index scheduled_messages_conversation_idx
  on public.scheduled_messages (conversation_id, send_at);
"""

_COMPANY = "company_id = (select app.current_company_id())"
_CHAT_VISIBLE = (
    "exists (select 1 from public.evolution_conversations c where c.id = conversation_id)"
)
_ADMIN = f"{_COMPANY} and (select app.is_admin())"

# Whoever sees the chat sees and cancels what is scheduled in it; one schedules as oneself.
_POLICIES = [
    ("scheduled_messages_select", "select", f"{_COMPANY} and {_CHAT_VISIBLE}", None),
    (
        "scheduled_messages_insert",
        "insert",
        None,
        f"{_COMPANY} and {_CHAT_VISIBLE} and created_by = (select auth.uid())",
    ),
    (
        "scheduled_messages_update",
        "update",
        f"{_COMPANY} and {_CHAT_VISIBLE}",
        f"{_COMPANY} and {_CHAT_VISIBLE}",
    ),
    ("scheduled_messages_delete_admin", "delete", _ADMIN, None),
]


def upgrade() -> None:
    op.execute(_UPGRADE)
    op.execute("alter table public.scheduled_messages enable row level security")
    for name, command, using, check in _POLICIES:
        sql = f"create policy {name} on public.scheduled_messages for {command} to authenticated"
        if using:
            sql += f" using ({using})"
        if check:
            sql += f" with check ({check})"
        op.execute(sql)
    op.execute("revoke all on public.scheduled_messages from anon")
    op.execute("grant select, insert, update, delete on public.scheduled_messages to authenticated")
    op.execute("grant all on public.scheduled_messages to service_role")


def downgrade() -> None:
    op.execute("drop table public.scheduled_messages")
