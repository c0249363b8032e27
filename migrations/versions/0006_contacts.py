"""Contacts: accent-insensitive search, company-defined custom attributes and funnel stages,
static segment members, and the contact timeline of events.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-27
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_COMPANY = "company_id = (select app.current_company_id())"
_ADMIN = "(select app.is_admin())"

_UPGRADE = """
create extension if not exists unaccent;

-- unaccent() is only STABLE (its dictionary could change), so an index cannot use it directly;
-- naming the dictionary makes the wrapper safe to declare IMMUTABLE. The search_path covers
-- Supabase, which installs extensions in the `extensions` schema.
create function app.search_text(value text) returns text
language sql immutable parallel safe set search_path = public, extensions, pg_catalog as $$
  select lower(unaccent('unaccent', coalesce(value, '')))
$$;
grant execute on function app.search_text(text) to authenticated, service_role;

drop index if exists public.contacts_name_trgm_idx;
create index contacts_name_search_idx
  on public.contacts using gin (app.search_text(name) gin_trgm_ops);
create index contacts_company_email_idx on public.contacts (company_id, lower(email));
create index contacts_company_created_idx on public.contacts (company_id, created_at desc, id desc);

create table public.contact_attributes (
  id uuid primary key default gen_random_uuid(),
  company_id uuid not null references public.companies (id) on delete cascade,
  key text not null check (key ~ '^[a-z][a-z0-9_]{0,49}$'),
  label text not null check (length(label) between 1 and 100),
  type text not null check (type in ('text', 'number', 'date', 'boolean', 'list')),
  options jsonb not null default '[]'::jsonb,
  position integer not null default 0,
  created_at timestamptz not null default now(),
  constraint contact_attributes_company_key_key unique (company_id, key)
);

create table public.funnel_stages (
  id uuid primary key default gen_random_uuid(),
  company_id uuid not null references public.companies (id) on delete cascade,
  key text not null check (key ~ '^[a-z][a-z0-9_]{0,49}$'),
  label text not null check (length(label) between 1 and 100),
  position integer not null default 0,
  created_at timestamptz not null default now(),
  constraint funnel_stages_company_key_key unique (company_id, key)
);

create table public.segment_members (
  segment_id uuid not null references public.segments (id) on delete cascade,
  contact_id uuid not null references public.contacts (id) on delete cascade,
  company_id uuid not null references public.companies (id) on delete cascade,
  added_at timestamptz not null default now(),
  primary key (segment_id, contact_id)
);
create index segment_members_contact_idx on public.segment_members (contact_id);

create table public.contact_events (
  id bigint generated always as identity primary key,
  company_id uuid not null references public.companies (id) on delete cascade,
  contact_id uuid not null references public.contacts (id) on delete cascade,
  kind text not null,
  actor_id uuid references auth.users (id) on delete set null,
  details jsonb not null default '{}'::jsonb,
  created_at timestamptz not null default now()
);
create index contact_events_contact_idx on public.contact_events (contact_id, created_at desc);

alter table public.import_jobs
  add column detected jsonb not null default '{}'::jsonb,
  add column failed_path text;
"""

_POLICIES = {
    "contact_attributes": [
        ("attributes_select", "select", _COMPANY, None),
        ("attributes_insert_admin", "insert", None, f"{_COMPANY} and {_ADMIN}"),
        (
            "attributes_update_admin",
            "update",
            f"{_COMPANY} and {_ADMIN}",
            f"{_COMPANY} and {_ADMIN}",
        ),
        ("attributes_delete_admin", "delete", f"{_COMPANY} and {_ADMIN}", None),
    ],
    "funnel_stages": [
        ("stages_select", "select", _COMPANY, None),
        ("stages_insert_admin", "insert", None, f"{_COMPANY} and {_ADMIN}"),
        ("stages_update_admin", "update", f"{_COMPANY} and {_ADMIN}", f"{_COMPANY} and {_ADMIN}"),
        ("stages_delete_admin", "delete", f"{_COMPANY} and {_ADMIN}", None),
    ],
    "segment_members": [
        ("members_select", "select", _COMPANY, None),
        ("members_insert", "insert", None, _COMPANY),
        ("members_delete", "delete", _COMPANY, None),
    ],
    "contact_events": [
        ("contact_events_select", "select", _COMPANY, None),
        ("contact_events_insert", "insert", None, _COMPANY),
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
    op.execute(
        "grant usage, select on all sequences in schema public to authenticated, service_role"
    )


def downgrade() -> None:
    op.execute(
        """
alter table public.import_jobs drop column detected, drop column failed_path;
drop table public.contact_events;
drop table public.segment_members;
drop table public.funnel_stages;
drop table public.contact_attributes;
drop index public.contacts_company_created_idx;
drop index public.contacts_company_email_idx;
drop index public.contacts_name_search_idx;
create index contacts_name_trgm_idx on public.contacts using gin (lower(name) gin_trgm_ops);
drop function app.search_text(text);
"""
    )
