"""Departments bound what operators see: RLS, not only the panel's lists.

Since 0035 an operator who works in departments was shown, of the chats nobody has taken, only
those of their departments and those in none, but only the panel and the API's lists applied
that rule: the chat itself (its messages, notes, cycles, tasks), opened by its link or its id,
was still readable and could be taken. The rule is now the conversations' policy, so every
read and change through RLS follows it, and the tables that follow their conversation
(messages, cycles, notes, tasks) follow it too:

- supervisors and admins: every chat of the company;
- an operator: the chats assigned to them, and those nobody has taken that wait in one of
  their departments, in no department, or anywhere when they work in no department.

`app.waiting_departments()` gives the caller's departments once per statement (an initplan,
like `app.is_supervisor()`). The message search view (0029) spells the rule out, so it is
replaced with the same one. `app.assign_conversation` (0008) checked visibility with the old
rule: a chat of another department could be taken by its id. "Enviar ao setor" becomes
`app.route_conversation`: a chat sent to a department the operator is not in leaves their sight,
which an UPDATE under the policy cannot do (the new row must stay visible to the caller).

Revision ID: 0038
Revises: 0037
Create Date: 2026-11-28
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0038"
down_revision: str | None = "0037"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_COMPANY = "company_id = (select app.current_company_id())"
_SUPERVISOR = "(select app.is_supervisor())"
_ME = "(select auth.uid())"
# Cast, so that ANY reads an array (an initplan) rather than taking the subquery as a row set.
_MINE = "(select app.waiting_departments())::uuid[]"


def _visible(prefix: str = "") -> str:
    """Whether the caller may see a conversation (columns qualified by `prefix`)."""
    assignee, department = f"{prefix}assignee_id", f"{prefix}department_id"
    return (
        f"({_SUPERVISOR} or {assignee} = {_ME} or ({assignee} is null and ({department} is null"
        f" or cardinality({_MINE}) = 0 or {department} = any({_MINE}))))"
    )


def _old_visible(prefix: str = "") -> str:
    """0003's rule, for the downgrade."""
    assignee = f"{prefix}assignee_id"
    return f"({_SUPERVISOR} or {assignee} is null or {assignee} = {_ME})"


_WAITING_DEPARTMENTS = """
create function app.waiting_departments() returns uuid[]
language sql stable security definer set search_path = '' as $$
  select coalesce(array_agg(m.department_id), '{}') from public.department_members m
  where m.user_id = auth.uid() and m.company_id = app.current_company_id()
$$;
revoke all on function app.waiting_departments() from public;
grant execute on function app.waiting_departments() to authenticated, service_role;
"""


def _policies(visible: str) -> str:
    return f"""
drop policy conversations_select on public.evolution_conversations;
drop policy conversations_update on public.evolution_conversations;
create policy conversations_select on public.evolution_conversations for select
  to authenticated using ({_COMPANY} and {visible});
-- An operator may act on what they see, including handing it to someone else.
create policy conversations_update on public.evolution_conversations for update
  to authenticated using ({_COMPANY} and {visible}) with check ({_COMPANY});
"""


def _search_view(visible: str) -> str:
    # 0029's view, columns unchanged; only the conversation rule differs.
    return f"""
create or replace view app.searchable_messages as
  select m.id, m.company_id, m.instance_id, m.conversation_id, m.from_me, m.push_name, m.type,
    m.body, m.message_payload, m.message_timestamp, m.deleted_at
  from public.evolution_messages m
  where m.company_id = (select app.current_company_id())
    and exists (
      select 1 from public.evolution_conversations c
      where c.id = m.conversation_id and c.company_id = m.company_id and {visible});
"""


def _assign(visible: str) -> str:
    # 0008's function; only its visibility check changes.
    return f"""
create or replace function app.assign_conversation(p_conversation uuid, p_assignee uuid)
returns boolean language plpgsql security definer set search_path = '' as $$
declare
  v_company uuid := app.current_company_id();
begin
  if v_company is null or not exists (
    select 1 from public.evolution_conversations c
    where c.id = p_conversation and c.company_id = v_company and {visible}
  ) then
    return false;
  end if;
  if p_assignee is not null and not exists (
    select 1 from public.profiles p
    where p.id = p_assignee and p.company_id = v_company and p.active
  ) then
    raise exception 'assignee is not an active member of the company'
      using errcode = 'check_violation';
  end if;
  update public.evolution_conversations set assignee_id = p_assignee where id = p_conversation;
  if p_assignee is not null then
    update public.conversation_cycles set first_assigned_at = now()
    where conversation_id = p_conversation and closed_at is null and first_assigned_at is null;
  end if;
  return true;
end
$$;
"""


_ROUTE = f"""
-- The chat leaves whoever had it and waits in the department (or in none); the menu counts as
-- answered for the open cycle. The department's company is checked by the table's foreign key.
create function app.route_conversation(p_conversation uuid, p_department uuid)
returns boolean language plpgsql security definer set search_path = '' as $$
declare
  v_company uuid := app.current_company_id();
begin
  if v_company is null or not exists (
    select 1 from public.evolution_conversations c
    where c.id = p_conversation and c.company_id = v_company and {_visible("c.")}
  ) then
    return false;
  end if;
  update public.evolution_conversations c set department_id = p_department,
    assignee_id = null, menu_asked_at = null, menu_tries = 0,
    menu_cycle_id = (select cy.id from public.conversation_cycles cy
      where cy.conversation_id = c.id and cy.closed_at is null
      order by cy.started_at desc limit 1)
  where c.id = p_conversation;
  return true;
end
$$;
revoke all on function app.route_conversation(uuid, uuid) from public;
grant execute on function app.route_conversation(uuid, uuid) to authenticated;
"""


def upgrade() -> None:
    op.execute(_WAITING_DEPARTMENTS)
    op.execute(_policies(_visible()))
    op.execute(_search_view(_visible("c.")))
    op.execute(_assign(_visible("c.")))
    op.execute(_ROUTE)


def downgrade() -> None:
    op.execute("drop function app.route_conversation(uuid, uuid)")
    op.execute(_assign(_old_visible("c.")))
    op.execute(_search_view(_old_visible("c.")))
    op.execute(_policies(_old_visible()))
    op.execute("drop function app.waiting_departments()")
