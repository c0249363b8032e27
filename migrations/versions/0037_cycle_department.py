"""The department each service cycle was served in: `conversation_cycles.department_id`.

Reports credited every cycle of a chat to the department the chat is in now, so a chat sent
to Financeiro today moved last month's sales cycles (their response times, their satisfaction
grades) out of Vendas. The cycle now keeps its department, as it keeps its assignee (0020):
taken from the chat when the cycle starts, followed while it is open (the customer's choice in
the menu, a person's "Enviar ao setor"), frozen at close. Triggers, so no path that routes a
chat can forget it; neither fires on the per-message path (it leaves department_id alone).
Cycles from before this revision get the chat's current department: the best record there is.

Revision ID: 0037
Revises: 0036
Create Date: 2026-11-28
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0037"
down_revision: str | None = "0036"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute(
        """
alter table public.conversation_cycles
  add column department_id uuid,
  add constraint conversation_cycles_department_id_fkey foreign key (company_id, department_id)
    references public.departments (company_id, id) on delete set null (department_id);
update public.conversation_cycles cc set department_id = c.department_id
  from public.evolution_conversations c
  where c.id = cc.conversation_id and c.department_id is not null;
create index conversation_cycles_department_idx
  on public.conversation_cycles (company_id, department_id, started_at)
  where department_id is not null;

create function app.cycle_takes_department() returns trigger
language plpgsql set search_path = '' as $$
begin
  if new.department_id is null then
    select c.department_id into new.department_id
    from public.evolution_conversations c where c.id = new.conversation_id;
  end if;
  return new;
end
$$;
create trigger conversation_cycles_department before insert on public.conversation_cycles
  for each row execute function app.cycle_takes_department();

create function app.open_cycle_follows_department() returns trigger
language plpgsql set search_path = '' as $$
begin
  update public.conversation_cycles set department_id = new.department_id
  where conversation_id = new.id and closed_at is null
    and department_id is distinct from new.department_id;
  return null;
end
$$;
create trigger evolution_conversations_cycle_department
  after update of department_id on public.evolution_conversations
  for each row when (old.department_id is distinct from new.department_id)
  execute function app.open_cycle_follows_department();
"""
    )


def downgrade() -> None:
    op.execute(
        """
drop trigger evolution_conversations_cycle_department on public.evolution_conversations;
drop function app.open_cycle_follows_department();
drop trigger conversation_cycles_department on public.conversation_cycles;
drop function app.cycle_takes_department();
alter table public.conversation_cycles drop column department_id;
"""
    )
