"""Row-level security on every tenant table, the helpers its policies call, and grants.

Policies are written for role `authenticated` with Supabase's `auth.uid()`, so they guard our
backend (which switches to that role per request) and any direct Supabase client alike.
Helpers are SECURITY DEFINER (they read `profiles` past its own policy) and every policy wraps
them as `(select ...)` so Postgres evaluates them once per statement, not once per row.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_HELPERS = """
create function app.current_company_id() returns uuid
language sql stable security definer set search_path = '' as $$
  select p.company_id from public.profiles p where p.id = auth.uid() and p.active
$$;

-- Named current_user_role because CURRENT_ROLE is a reserved word in SQL.
create function app.current_user_role() returns text
language sql stable security definer set search_path = '' as $$
  select p.role from public.profiles p where p.id = auth.uid() and p.active
$$;

create function app.is_supervisor() returns boolean
language sql stable security definer set search_path = '' as $$
  select coalesce(
    (select p.role in ('supervisor', 'admin') from public.profiles p
     where p.id = auth.uid() and p.active),
    false)
$$;

create function app.is_admin() returns boolean
language sql stable security definer set search_path = '' as $$
  select coalesce(
    (select p.role = 'admin' from public.profiles p where p.id = auth.uid() and p.active),
    false)
$$;

revoke all on function app.current_company_id(), app.current_user_role(),
  app.is_supervisor(), app.is_admin() from public;
grant execute on function app.current_company_id(), app.current_user_role(),
  app.is_supervisor(), app.is_admin() to authenticated, service_role;
"""

# Shorthands used in the policies below; each expands to an initplan evaluated once.
_COMPANY = "company_id = (select app.current_company_id())"
_SUPERVISOR = "(select app.is_supervisor())"
_ADMIN = "(select app.is_admin())"
_ME = "(select auth.uid())"
_CONVERSATION_VISIBLE = f"({_SUPERVISOR} or assignee_id is null or assignee_id = {_ME})"
# A child row is visible when its conversation is: the subquery runs under the conversation's
# own policy, so the operator rule lives in one place.
_PARENT_CONVERSATION_VISIBLE = (
    "exists (select 1 from public.evolution_conversations c where c.id = conversation_id)"
)

# table -> list of (policy name, command, USING, WITH CHECK)
_POLICIES: dict[str, list[tuple[str, str, str | None, str | None]]] = {
    "companies": [
        ("companies_select", "select", "id = (select app.current_company_id())", None),
        (
            "companies_update_admin",
            "update",
            f"id = (select app.current_company_id()) and {_ADMIN}",
            f"id = (select app.current_company_id()) and {_ADMIN}",
        ),
    ],
    "profiles": [
        ("profiles_select", "select", _COMPANY, None),
        ("profiles_insert_admin", "insert", None, f"{_COMPANY} and {_ADMIN}"),
        ("profiles_update_admin", "update", f"{_COMPANY} and {_ADMIN}", f"{_COMPANY} and {_ADMIN}"),
        ("profiles_delete_admin", "delete", f"{_COMPANY} and {_ADMIN}", None),
    ],
    "evolution_instances": [
        ("instances_select", "select", _COMPANY, None),
        ("instances_insert_admin", "insert", None, f"{_COMPANY} and {_ADMIN}"),
        (
            "instances_update_admin",
            "update",
            f"{_COMPANY} and {_ADMIN}",
            f"{_COMPANY} and {_ADMIN}",
        ),
        ("instances_delete_admin", "delete", f"{_COMPANY} and {_ADMIN}", None),
    ],
    "evolution_conversations": [
        ("conversations_select", "select", f"{_COMPANY} and {_CONVERSATION_VISIBLE}", None),
        ("conversations_insert", "insert", None, _COMPANY),
        # An operator may act on what they see, including transferring it to someone else.
        ("conversations_update", "update", f"{_COMPANY} and {_CONVERSATION_VISIBLE}", _COMPANY),
        ("conversations_delete_admin", "delete", f"{_COMPANY} and {_ADMIN}", None),
    ],
    "evolution_messages": [
        ("messages_select", "select", f"{_COMPANY} and {_PARENT_CONVERSATION_VISIBLE}", None),
        ("messages_insert", "insert", None, f"{_COMPANY} and {_PARENT_CONVERSATION_VISIBLE}"),
        (
            "messages_update",
            "update",
            f"{_COMPANY} and {_PARENT_CONVERSATION_VISIBLE}",
            f"{_COMPANY} and {_PARENT_CONVERSATION_VISIBLE}",
        ),
        ("messages_delete_admin", "delete", f"{_COMPANY} and {_ADMIN}", None),
    ],
    "conversation_cycles": [
        ("cycles_select", "select", f"{_COMPANY} and {_PARENT_CONVERSATION_VISIBLE}", None),
        ("cycles_insert", "insert", None, f"{_COMPANY} and {_PARENT_CONVERSATION_VISIBLE}"),
        (
            "cycles_update",
            "update",
            f"{_COMPANY} and {_PARENT_CONVERSATION_VISIBLE}",
            f"{_COMPANY} and {_PARENT_CONVERSATION_VISIBLE}",
        ),
    ],
    "contacts": [
        ("contacts_select", "select", _COMPANY, None),
        ("contacts_insert", "insert", None, _COMPANY),
        ("contacts_update", "update", _COMPANY, _COMPANY),
        ("contacts_delete_supervisor", "delete", f"{_COMPANY} and {_SUPERVISOR}", None),
    ],
    "contact_identities": [
        ("identities_select", "select", _COMPANY, None),
        ("identities_insert", "insert", None, _COMPANY),
        ("identities_update", "update", _COMPANY, _COMPANY),
        ("identities_delete", "delete", _COMPANY, None),
    ],
    "segments": [
        ("segments_select", "select", _COMPANY, None),
        ("segments_insert", "insert", None, _COMPANY),
        ("segments_update", "update", _COMPANY, _COMPANY),
        ("segments_delete", "delete", _COMPANY, None),
    ],
    "import_jobs": [
        ("imports_select", "select", f"{_COMPANY} and ({_SUPERVISOR} or created_by = {_ME})", None),
        ("imports_insert", "insert", None, f"{_COMPANY} and created_by = {_ME}"),
        (
            "imports_update",
            "update",
            f"{_COMPANY} and ({_SUPERVISOR} or created_by = {_ME})",
            _COMPANY,
        ),
    ],
    "tasks": [
        (
            "tasks_select",
            "select",
            f"{_COMPANY} and ({_SUPERVISOR} or assignee_id is null "
            f"or assignee_id = {_ME} or created_by = {_ME})",
            None,
        ),
        ("tasks_insert", "insert", None, _COMPANY),
        (
            "tasks_update",
            "update",
            f"{_COMPANY} and ({_SUPERVISOR} or assignee_id is null "
            f"or assignee_id = {_ME} or created_by = {_ME})",
            _COMPANY,
        ),
        ("tasks_delete", "delete", f"{_COMPANY} and ({_SUPERVISOR} or created_by = {_ME})", None),
    ],
    # Users never read the outbox; a request may add entries for its own company.
    "outbox": [("outbox_insert", "insert", None, _COMPANY)],
    "audit_log": [
        ("audit_select_admin", "select", f"{_COMPANY} and {_ADMIN}", None),
        ("audit_insert", "insert", None, f"{_COMPANY} and actor_id = {_ME}"),
    ],
}


def _policy_sql(table: str, name: str, command: str, using: str | None, check: str | None) -> str:
    sql = f"create policy {name} on public.{table} for {command} to authenticated"
    if using:
        sql += f" using ({using})"
    if check:
        sql += f" with check ({check})"
    return sql


def upgrade() -> None:
    op.execute(_HELPERS)
    for table, policies in _POLICIES.items():
        op.execute(f"alter table public.{table} enable row level security")
        for name, command, using, check in policies:
            op.execute(_policy_sql(table, name, command, using, check))
    op.execute("alter table app.refresh_tokens enable row level security")
    tables = ", ".join(f"public.{table}" for table in _POLICIES)
    op.execute(f"revoke all on {tables} from anon")
    op.execute(f"grant select, insert, update, delete on {tables} to authenticated")
    op.execute(f"grant all on {tables} to service_role")
    op.execute(
        "grant usage, select on all sequences in schema public to authenticated, service_role"
    )
    op.execute("revoke all on app.refresh_tokens from anon, authenticated")


def downgrade() -> None:
    for table, policies in _POLICIES.items():
        for name, *_ in policies:
            op.execute(f"drop policy if exists {name} on public.{table}")
        op.execute(f"alter table public.{table} disable row level security")
    op.execute(
        "drop function if exists app.current_company_id(), app.current_user_role(), "
        "app.is_supervisor(), app.is_admin()"
    )
