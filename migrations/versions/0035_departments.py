"""Departments ("setores"): teams a chat is routed to, by the customer's choice in a WhatsApp
menu or by a person's transfer.

`departments` are a company's teams (Vendas, Suporte, Financeiro ...), in the order the menu
lists them; `department_members` says who works in each; `department_menus` holds the company's
menu (on or off, and the greeting above the numbered options). A chat carries its
`department_id` and the menu's progress: the service cycle it was asked in (`menu_cycle_id`;
a cycle id rather than a time, so a phone whose clock runs ahead cannot make every message
look like a new cycle's first), when (`menu_asked_at`), and `menu_tries`, the answers that
named no option. Members read all of it; admins change it.

Revision ID: 0035
Revises: 0034
Create Date: 2026-11-28
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0035"
down_revision: str | None = "0034"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_UPGRADE = """
create table public.departments (
  id uuid primary key default gen_random_uuid(),
  company_id uuid not null references public.companies (id) on delete cascade,
  name text not null check (length(btrim(name)) between 1 and 60),
  position integer not null default 0,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  constraint departments_company_id_id_key unique (company_id, id)
);
-- "Vendas" and "vendas" are the same option to a customer reading the menu.
create unique index departments_company_name_key on public.departments (company_id, lower(name));
create trigger departments_touch before update on public.departments
  for each row execute function app.touch_updated_at();

create table public.department_members (
  department_id uuid not null,
  user_id uuid not null,
  company_id uuid not null,
  primary key (department_id, user_id),
  constraint department_members_department_id_fkey foreign key (company_id, department_id)
    references public.departments (company_id, id) on delete cascade,
  constraint department_members_user_id_fkey foreign key (company_id, user_id)
    references public.profiles (company_id, id) on delete cascade
);
create index department_members_user_id_idx on public.department_members (user_id);

create table public.department_menus (
  company_id uuid primary key references public.companies (id) on delete cascade,
  enabled boolean not null default false,
  greeting text not null check (length(greeting) between 1 and 1000),
  updated_at timestamptz not null default now()
);
create trigger department_menus_touch before update on public.department_menus
  for each row execute function app.touch_updated_at();

alter table public.evolution_conversations
  add column department_id uuid,
  add column menu_cycle_id uuid,
  add column menu_asked_at timestamptz,
  add column menu_tries smallint not null default 0,
  add constraint evolution_conversations_department_id_fkey foreign key (company_id, department_id)
    references public.departments (company_id, id) on delete set null (department_id);
create index evolution_conversations_department_id_idx on public.evolution_conversations
  (department_id) where department_id is not null;
"""

_COMPANY = "company_id = (select app.current_company_id())"
_ADMIN = f"{_COMPANY} and (select app.is_admin())"

_POLICIES = {
    table: [
        (f"{table}_select_member", "select", _COMPANY, None),
        (f"{table}_insert_admin", "insert", None, _ADMIN),
        (f"{table}_update_admin", "update", _ADMIN, _ADMIN),
        (f"{table}_delete_admin", "delete", _ADMIN, None),
    ]
    for table in ("departments", "department_members", "department_menus")
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
    op.execute(
        "alter table public.evolution_conversations drop column department_id,"
        " drop column menu_cycle_id, drop column menu_asked_at, drop column menu_tries"
    )
    op.execute("drop table public.department_menus")
    op.execute("drop table public.department_members")
    op.execute("drop table public.departments")
