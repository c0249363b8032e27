"""Business hours and the out-of-office reply (crm-features.md "Connections and admin").

`business_hours` holds one company's opening hours (per ISO weekday, at most one interval a
day), the days it is closed (holidays) and the reply a customer writing outside them gets.
`evolution_conversations.away_replied_at` is when a chat last got that reply: at most once per
chat per day, claimed by one conditional update so two messages arriving together send one.

Revision ID: 0022
Revises: 0021
Create Date: 2026-11-28
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0022"
down_revision: str | None = "0021"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_UPGRADE = """
create table public.business_hours (
  company_id uuid primary key references public.companies (id) on delete cascade,
  -- {"1": {"opens": "08:00", "closes": "18:00"}, ...}; a weekday left out is closed.
  schedule jsonb not null default '{}'::jsonb,
  holidays date[] not null default '{}' check (cardinality(holidays) <= 366),
  away_enabled boolean not null default false,
  away_message text not null default '' check (length(away_message) <= 1000),
  updated_by uuid references public.profiles (id) on delete set null,
  updated_at timestamptz not null default now()
);
create trigger business_hours_touch before update on public.business_hours
  for each row execute function app.touch_updated_at();

alter table public.evolution_conversations add column away_replied_at timestamptz;
"""

_COMPANY = "company_id = (select app.current_company_id())"
_ADMIN = f"{_COMPANY} and (select app.is_admin())"

# Everyone in the company may read the hours (the inbox says when the shop is closed); only
# admins change what customers are told.
_POLICIES = [
    ("business_hours_select_member", "select", _COMPANY, None),
    ("business_hours_insert_admin", "insert", None, _ADMIN),
    ("business_hours_update_admin", "update", _ADMIN, _ADMIN),
    ("business_hours_delete_admin", "delete", _ADMIN, None),
]


def upgrade() -> None:
    op.execute(_UPGRADE)
    op.execute("alter table public.business_hours enable row level security")
    for name, command, using, check in _POLICIES:
        sql = f"create policy {name} on public.business_hours for {command} to authenticated"
        if using:
            sql += f" using ({using})"
        if check:
            sql += f" with check ({check})"
        op.execute(sql)
    op.execute("revoke all on public.business_hours from anon")
    op.execute("grant select, insert, update, delete on public.business_hours to authenticated")
    op.execute("grant all on public.business_hours to service_role")


def downgrade() -> None:
    op.execute("alter table public.evolution_conversations drop column away_replied_at")
    op.execute("drop table public.business_hours")
