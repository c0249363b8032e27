"""The department each service cycle was served in: `conversation_cycles.department_id`.

Reports credited every cycle of a chat to the department the chat is in now, so a chat sent
to Financeiro today moved last month's sales cycles (their response times, their satisfaction
grades) out of Vendas. The cycle now keeps its department, as it keeps its assignee (0020):
taken from the chat when the cycle starts, followed while it is open (the customer's choice in
the menu, a person's "Enviar ao setor"), frozen at close. The triggers of 0020 become one pair
for both columns (one read of the chat when a cycle starts, not two); no path that assigns or
routes a chat can forget them, and neither fires on the per-message path.
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


# 0020's pair, for the downgrade to put back.
_ASSIGNEE_ONLY = """
create function app.cycle_takes_assignee() returns trigger
language plpgsql set search_path = '' as $$
begin
  if new.assignee_id is null then
    select c.assignee_id into new.assignee_id
    from public.evolution_conversations c where c.id = new.conversation_id;
  end if;
  return new;
end
$$;
create trigger conversation_cycles_assignee before insert on public.conversation_cycles
  for each row execute function app.cycle_takes_assignee();

create function app.open_cycle_follows_assignee() returns trigger
language plpgsql set search_path = '' as $$
begin
  update public.conversation_cycles set assignee_id = new.assignee_id
  where conversation_id = new.id and closed_at is null
    and assignee_id is distinct from new.assignee_id;
  return null;
end
$$;
create trigger evolution_conversations_cycle_assignee
  after update of assignee_id on public.evolution_conversations
  for each row when (old.assignee_id is distinct from new.assignee_id)
  execute function app.open_cycle_follows_assignee();
"""


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

drop trigger evolution_conversations_cycle_assignee on public.evolution_conversations;
drop function app.open_cycle_follows_assignee();
drop trigger conversation_cycles_assignee on public.conversation_cycles;
drop function app.cycle_takes_assignee();

create function app.cycle_takes_chat() returns trigger
language plpgsql set search_path = '' as $$
begin
  select coalesce(new.assignee_id, c.assignee_id), coalesce(new.department_id, c.department_id)
    into new.assignee_id, new.department_id
  from public.evolution_conversations c where c.id = new.conversation_id;
  return new;
end
$$;
create trigger conversation_cycles_from_chat before insert on public.conversation_cycles
  for each row execute function app.cycle_takes_chat();

create function app.open_cycle_follows_chat() returns trigger
language plpgsql set search_path = '' as $$
begin
  update public.conversation_cycles
    set assignee_id = new.assignee_id, department_id = new.department_id
  where conversation_id = new.id and closed_at is null
    and (assignee_id, department_id) is distinct from (new.assignee_id, new.department_id);
  return null;
end
$$;
create trigger evolution_conversations_cycle_follows
  after update of assignee_id, department_id on public.evolution_conversations
  for each row when (old.assignee_id is distinct from new.assignee_id
                     or old.department_id is distinct from new.department_id)
  execute function app.open_cycle_follows_chat();
"""
    )


def downgrade() -> None:
    op.execute(
        """
drop trigger evolution_conversations_cycle_follows on public.evolution_conversations;
drop function app.open_cycle_follows_chat();
drop trigger conversation_cycles_from_chat on public.conversation_cycles;
drop function app.cycle_takes_chat();
alter table public.conversation_cycles drop column department_id;
"""
        + _ASSIGNEE_ONLY
    )
