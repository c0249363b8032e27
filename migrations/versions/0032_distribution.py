"""Automatic distribution of waiting chats among the agents who are taking chats, and the
automatic close of chats the customer stopped answering.

`distribution_settings` holds a company's choices (distribution on or off, how many open chats
an agent may hold before the next one goes to someone else, and after how many hours without
an answer from the customer an open chat closes by itself, with what it tells the customer
then, if anything); admins change them.
`agent_availability` is each user's own "taking chats" switch and when they last received a
chat from the distributor (the tie-break that makes it a round robin); a user writes only
their own row, everyone in the company reads the team's.

Revision ID: 0032
Revises: 0031
Create Date: 2026-11-28
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0032"
down_revision: str | None = "0031"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_UPGRADE = """
create table public.distribution_settings (
  company_id uuid primary key references public.companies (id) on delete cascade,
  enabled boolean not null default false,
  max_open_per_agent integer check (max_open_per_agent between 1 and 500),
  idle_close_hours integer check (idle_close_hours between 1 and 720),
  idle_close_message text check (length(idle_close_message) between 1 and 1000),
  updated_by uuid,
  updated_at timestamptz not null default now(),
  constraint distribution_settings_updated_by_fkey foreign key (company_id, updated_by)
    references public.profiles (company_id, id) on delete set null (updated_by)
);
create trigger distribution_settings_touch before update on public.distribution_settings
  for each row execute function app.touch_updated_at();

create table public.agent_availability (
  user_id uuid primary key,
  company_id uuid not null,
  accepting boolean not null default false,
  changed_at timestamptz not null default now(),
  last_assigned_at timestamptz,
  constraint agent_availability_user_id_fkey foreign key (company_id, user_id)
    references public.profiles (company_id, id) on delete cascade
);
create index agent_availability_company_idx on public.agent_availability (company_id)
  where accepting;
"""

_COMPANY = "company_id = (select app.current_company_id())"
_ADMIN = f"{_COMPANY} and (select app.is_admin())"
_SELF = f"{_COMPANY} and user_id = (select auth.uid())"

_POLICIES = {
    "distribution_settings": [
        ("distribution_settings_select_member", "select", _COMPANY, None),
        ("distribution_settings_insert_admin", "insert", None, _ADMIN),
        ("distribution_settings_update_admin", "update", _ADMIN, _ADMIN),
        ("distribution_settings_delete_admin", "delete", _ADMIN, None),
    ],
    # The switch is personal: nobody turns a colleague's on (the distributor, as the service
    # role, stamps last_assigned_at).
    "agent_availability": [
        ("agent_availability_select_member", "select", _COMPANY, None),
        ("agent_availability_insert_self", "insert", None, _SELF),
        ("agent_availability_update_self", "update", _SELF, _SELF),
    ],
}


def upgrade() -> None:
    op.execute(_UPGRADE)
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
    op.execute("drop table public.agent_availability")
    op.execute("drop table public.distribution_settings")
