"""Quick replies (company canned responses) and private notes inside conversations.

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-27
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TABLES = """
create table public.quick_replies (
  id uuid primary key default gen_random_uuid(),
  company_id uuid not null references public.companies (id) on delete cascade,
  shortcut text not null check (shortcut ~ '^/\\S{1,40}$'),
  title text not null check (length(title) between 1 and 100),
  body text not null check (length(body) between 1 and 4096),
  created_by uuid references public.profiles (id) on delete set null,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);
-- `/Frete` and `/frete` are the same shortcut to whoever types it in the composer.
create unique index quick_replies_company_shortcut_key
  on public.quick_replies (company_id, lower(shortcut));
create trigger quick_replies_touch before update on public.quick_replies
  for each row execute function app.touch_updated_at();

create table public.conversation_notes (
  id uuid primary key default gen_random_uuid(),
  company_id uuid not null references public.companies (id) on delete cascade,
  conversation_id uuid not null references public.evolution_conversations (id) on delete cascade,
  author_id uuid references public.profiles (id) on delete set null,
  body text not null check (length(body) between 1 and 4096),
  created_at timestamptz not null default now()
);
create index conversation_notes_conversation_idx
  on public.conversation_notes (conversation_id, created_at desc, id desc);
"""

_COMPANY = "company_id = (select app.current_company_id())"
_SUPERVISOR = "(select app.is_supervisor())"
_ADMIN = "(select app.is_admin())"
_ME = "(select auth.uid())"
# As for messages (0003): the subquery runs under the conversation's own policy, so a note is
# visible exactly when its conversation is (an operator: own and unassigned chats).
_PARENT_CONVERSATION_VISIBLE = (
    "exists (select 1 from public.evolution_conversations c where c.id = conversation_id)"
)

# table -> list of (policy name, command, USING, WITH CHECK)
_POLICIES: dict[str, list[tuple[str, str, str | None, str | None]]] = {
    # Everyone of the company uses quick replies; supervisors and admins curate them. They are
    # the team's day-to-day wording (prices, delivery times, opening hours) that the team lead
    # keeps current, not a system setting like instances or users; an operator changing the
    # text every colleague sends to customers would surprise the team, so operators only read.
    "quick_replies": [
        ("quick_replies_select", "select", _COMPANY, None),
        ("quick_replies_insert_supervisor", "insert", None, f"{_COMPANY} and {_SUPERVISOR}"),
        (
            "quick_replies_update_supervisor",
            "update",
            f"{_COMPANY} and {_SUPERVISOR}",
            f"{_COMPANY} and {_SUPERVISOR}",
        ),
        ("quick_replies_delete_supervisor", "delete", f"{_COMPANY} and {_SUPERVISOR}", None),
    ],
    # Notes are an internal record of the conversation: written by whoever sees it, in their own
    # name, never edited; admins may remove one (as for messages).
    "conversation_notes": [
        ("notes_select", "select", f"{_COMPANY} and {_PARENT_CONVERSATION_VISIBLE}", None),
        (
            "notes_insert",
            "insert",
            None,
            f"{_COMPANY} and author_id = {_ME} and {_PARENT_CONVERSATION_VISIBLE}",
        ),
        ("notes_delete_admin", "delete", f"{_COMPANY} and {_ADMIN}", None),
    ],
}


def upgrade() -> None:
    op.execute(_TABLES)
    for table, policies in _POLICIES.items():
        op.execute(f"alter table public.{table} enable row level security")
        for name, command, using, check in policies:
            sql = f"create policy {name} on public.{table} for {command} to authenticated"
            if using:
                sql += f" using ({using})"
            if check:
                sql += f" with check ({check})"
            op.execute(sql)
        op.execute(f"revoke all on public.{table} from anon")
        op.execute(f"grant select, insert, update, delete on public.{table} to authenticated")
        op.execute(f"grant all on public.{table} to service_role")


def downgrade() -> None:
    op.execute("drop table public.conversation_notes")
    op.execute("drop table public.quick_replies")
