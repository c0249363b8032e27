"""Supabase compatibility shim and the app schema's RLS helper functions.

Creates, only where absent, what Supabase ships: schema `auth`, table `auth.users` (the columns
zapcrm uses, same names and types), `auth.uid()`, `auth.role()`, `auth.jwt()` reading
`request.jwt.claims`, and roles `anon`, `authenticated`, `service_role`. On Supabase every
`IF NOT EXISTS` branch is skipped and Supabase's own objects are used as they are.

Revision ID: 0001
Revises:
Create Date: 2026-11-27
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ROLES = """
do $$
declare
  wanted text[][] := array[
    ['anon', 'nologin noinherit'],
    ['authenticated', 'nologin noinherit'],
    ['service_role', 'nologin noinherit bypassrls']
  ];
  i int;
begin
  for i in 1 .. array_length(wanted, 1) loop
    if not exists (select 1 from pg_roles where rolname = wanted[i][1]) then
      -- Roles belong to the cluster, not the database: two databases migrated at once (the
      -- test workers on a fresh server) race here, and the loser's CREATE ROLE fails on
      -- pg_authid's unique index once the winner commits. The role then exists: carry on.
      begin
        execute format('create role %I %s', wanted[i][1], wanted[i][2]);
      exception when unique_violation or duplicate_object then
        null;
      end;
    end if;
  end loop;
  -- The backend switches to `authenticated` per request (SET LOCAL ROLE); it must be a member.
  if not (select rolsuper from pg_roles where rolname = current_user)
     and not pg_has_role(current_user, 'authenticated', 'member') then
    execute format('grant authenticated to %I', current_user);
  end if;
end
$$;
"""

_AUTH_SCHEMA = """
create schema if not exists auth;

create table if not exists auth.users (
  instance_id uuid,
  id uuid primary key default gen_random_uuid(),
  aud varchar(255) default 'authenticated',
  role varchar(255) default 'authenticated',
  email varchar(255),
  encrypted_password varchar(255),
  email_confirmed_at timestamptz,
  last_sign_in_at timestamptz,
  raw_app_meta_data jsonb default '{}'::jsonb,
  raw_user_meta_data jsonb default '{}'::jsonb,
  created_at timestamptz default now(),
  updated_at timestamptz default now(),
  banned_until timestamptz,
  deleted_at timestamptz,
  is_sso_user boolean not null default false,
  is_anonymous boolean not null default false
);

-- Supabase's own unique index on e-mail (partial: SSO users may share an address).
create unique index if not exists users_email_partial_key
  on auth.users (email) where is_sso_user = false;

grant usage on schema auth to anon, authenticated, service_role;
"""

# Supabase's definitions, reproduced so policies written for Supabase run unchanged locally.
_AUTH_FUNCTIONS = {
    "uid": """
create function auth.uid() returns uuid language sql stable as $fn$
  select coalesce(
    nullif(current_setting('request.jwt.claim.sub', true), ''),
    (nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'sub')
  )::uuid
$fn$""",
    "role": """
create function auth.role() returns text language sql stable as $fn$
  select coalesce(
    nullif(current_setting('request.jwt.claim.role', true), ''),
    (nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'role')
  )::text
$fn$""",
    "jwt": """
create function auth.jwt() returns jsonb language sql stable as $fn$
  select coalesce(
    nullif(current_setting('request.jwt.claim', true), ''),
    nullif(current_setting('request.jwt.claims', true), '')
  )::jsonb
$fn$""",
}


def _create_function_if_absent(name: str, ddl: str) -> None:
    body = ddl.replace("$fn$", "$body$")
    op.execute(
        f"""
do $do$
begin
  if not exists (
    select 1 from pg_proc p join pg_namespace n on n.oid = p.pronamespace
    where n.nspname = 'auth' and p.proname = '{name}'
  ) then
    execute $ddl${body}$ddl$;
  end if;
end
$do$;
"""
    )


def upgrade() -> None:
    op.execute(_ROLES)
    op.execute(_AUTH_SCHEMA)
    for name, ddl in _AUTH_FUNCTIONS.items():
        _create_function_if_absent(name, ddl)
    op.execute("create extension if not exists pg_trgm")
    op.execute("create schema if not exists app")
    op.execute("grant usage on schema app to authenticated, service_role")


def downgrade() -> None:
    # The auth shim, the roles and pg_trgm are left in place: on Supabase they belong to Supabase,
    # and locally other databases of the same cluster may share the roles.
    op.execute("drop schema if exists app cascade")
