"""List rules: each contact created through the API or the bulk endpoint, or imported from a CSV,
that matches a rule's filter joins the rule's static list.

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-27
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TABLES = """
-- The target of the composite key below: a rule can only name a static list of its own company.
alter table public.segments
  add constraint segments_id_company_kind_key unique (id, company_id, kind);

create table public.list_rules (
  id uuid primary key default gen_random_uuid(),
  company_id uuid not null references public.companies (id) on delete cascade,
  segment_id uuid not null,
  segment_kind text not null default 'static' check (segment_kind = 'static'),
  name text not null check (length(name) between 1 and 200),
  filter jsonb not null default '{}'::jsonb,
  active boolean not null default true,
  created_by uuid references public.profiles (id) on delete set null,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  -- The foreign key check bypasses RLS, so without company_id in it a rule could point at
  -- another company's list; segment_kind pins the target to a static list.
  constraint list_rules_segment_fkey foreign key (segment_id, company_id, segment_kind)
    references public.segments (id, company_id, kind) on delete cascade
);
create index list_rules_company_idx on public.list_rules (company_id, created_at);
create index list_rules_segment_idx on public.list_rules (segment_id);
create trigger list_rules_touch before update on public.list_rules
  for each row execute function app.touch_updated_at();

-- The end of an import finds the contacts it created or changed by their timeline events.
create index contact_events_import_job_idx on public.contact_events ((details ->> 'job_id'))
  where kind in ('import.created', 'import.updated');
"""

_COMPANY = "company_id = (select app.current_company_id())"
_SUPERVISOR = "(select app.is_supervisor())"

# table -> list of (policy name, command, USING, WITH CHECK)
_POLICIES: dict[str, list[tuple[str, str, str | None, str | None]]] = {
    # Everyone of the company reads the rules (they run on the contacts anyone creates, under
    # that user's own session); supervisors and admins decide them, as for quick replies: a rule
    # silently moves every future contact, which is a team decision.
    "list_rules": [
        ("list_rules_select", "select", _COMPANY, None),
        ("list_rules_insert_supervisor", "insert", None, f"{_COMPANY} and {_SUPERVISOR}"),
        (
            "list_rules_update_supervisor",
            "update",
            f"{_COMPANY} and {_SUPERVISOR}",
            f"{_COMPANY} and {_SUPERVISOR}",
        ),
        ("list_rules_delete_supervisor", "delete", f"{_COMPANY} and {_SUPERVISOR}", None),
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
    op.execute("drop index public.contact_events_import_job_idx")
    op.execute("drop table public.list_rules")
    op.execute("alter table public.segments drop constraint segments_id_company_kind_key")
