"""The functions every policy calls keep their plans for the connection (PL/pgSQL, not SQL).

`app.current_company_id()`, `app.is_supervisor()`, `app.is_admin()`,
`app.current_user_role()` and `app.waiting_departments()` run once per statement under RLS (as
initplans), several in a statement that joins tables. Written in SQL and SECURITY DEFINER,
Postgres cannot inline them, so each call parsed and planned its query again: 35-70 us each,
about 0.2 ms of a 0.22 ms read of one conversation (EXPLAIN ANALYZE). PL/pgSQL prepares each
query once per connection and reuses the plan: the same call costs about 10 us. The answers do
not change: the same lookups of `profiles` and `department_members`, by the caller's
`auth.uid()`, only of an active profile. CREATE OR REPLACE keeps the grants and the policies.

Revision ID: 0051
Revises: 0050
Create Date: 2026-11-29
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0051"
down_revision: str | None = "0050"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_HEADER = "language {language} stable security definer set search_path = ''"

# name: (return type, PL/pgSQL body, SQL body as before)
_FUNCTIONS = {
    "current_company_id": (
        "uuid",
        "declare v uuid; begin"
        " select p.company_id into v from public.profiles p where p.id = auth.uid() and p.active;"
        " return v; end",
        "select p.company_id from public.profiles p where p.id = auth.uid() and p.active",
    ),
    "current_user_role": (
        "text",
        "declare v text; begin"
        " select p.role into v from public.profiles p where p.id = auth.uid() and p.active;"
        " return v; end",
        "select p.role from public.profiles p where p.id = auth.uid() and p.active",
    ),
    "is_supervisor": (
        "boolean",
        "declare v boolean; begin"
        " select p.role in ('supervisor', 'admin') into v from public.profiles p"
        " where p.id = auth.uid() and p.active;"
        " return coalesce(v, false); end",
        "select coalesce((select p.role in ('supervisor', 'admin') from public.profiles p"
        " where p.id = auth.uid() and p.active), false)",
    ),
    "is_admin": (
        "boolean",
        "declare v boolean; begin"
        " select p.role = 'admin' into v from public.profiles p"
        " where p.id = auth.uid() and p.active;"
        " return coalesce(v, false); end",
        "select coalesce((select p.role = 'admin' from public.profiles p"
        " where p.id = auth.uid() and p.active), false)",
    ),
    "waiting_departments": (
        "uuid[]",
        "declare v uuid[]; begin"
        " select coalesce(array_agg(m.department_id), '{}') into v"
        " from public.department_members m"
        " where m.user_id = auth.uid() and m.company_id = app.current_company_id();"
        " return v; end",
        "select coalesce(array_agg(m.department_id), '{}') from public.department_members m"
        " where m.user_id = auth.uid() and m.company_id = app.current_company_id()",
    ),
}


def _define(name: str, returns: str, language: str, body: str) -> str:
    header = _HEADER.format(language=language)
    return f"create or replace function app.{name}() returns {returns} {header} as $$ {body} $$;"


def upgrade() -> None:
    for name, (returns, plpgsql, _sql) in _FUNCTIONS.items():
        op.execute(_define(name, returns, "plpgsql", plpgsql))


def downgrade() -> None:
    for name, (returns, _plpgsql, sql) in _FUNCTIONS.items():
        op.execute(_define(name, returns, "sql", sql))
