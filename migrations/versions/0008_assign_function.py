"""Assigning a conversation through a definer function, so operators can transfer chats.

Postgres applies a table's SELECT policy to the NEW row of an UPDATE whose WHERE reads the
table; an operator handing a chat to a colleague would produce a row they can no longer see,
and the update is refused. The function checks the same visibility rule on the current row,
then updates as the owner.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-27
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute(
        """
create function app.assign_conversation(p_conversation uuid, p_assignee uuid)
returns boolean language plpgsql security definer set search_path = '' as $$
declare
  v_company uuid := app.current_company_id();
begin
  if v_company is null or not exists (
    select 1 from public.evolution_conversations c
    where c.id = p_conversation and c.company_id = v_company
      and (app.is_supervisor() or c.assignee_id is null or c.assignee_id = auth.uid())
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
revoke all on function app.assign_conversation(uuid, uuid) from public;
grant execute on function app.assign_conversation(uuid, uuid) to authenticated;
"""
    )


def downgrade() -> None:
    op.execute("drop function app.assign_conversation(uuid, uuid)")
