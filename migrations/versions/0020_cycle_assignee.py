"""Who held each service cycle: `conversation_cycles.assignee_id`.

Reports credited every cycle of a conversation to whoever holds the conversation now, so a
chat transferred today moved last week's cycles (and their response times) to the new agent.
The cycle now keeps the assignee it had: set from the conversation when the cycle starts and
followed while it is open (any assignment, by the panel, the API or a merge), frozen at close.
Triggers rather than application code, so no path that assigns or starts a cycle can forget
it; neither fires on the per-message path (the conversation update there leaves assignee_id).
Cycles that existed before this revision get the conversation's current assignee: the best
record there is.

Revision ID: 0020
Revises: 0019
Create Date: 2026-11-27
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0020"
down_revision: str | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute(
        """
alter table public.conversation_cycles
  add column assignee_id uuid references public.profiles (id) on delete set null;
update public.conversation_cycles cc set assignee_id = c.assignee_id
  from public.evolution_conversations c
  where c.id = cc.conversation_id and c.assignee_id is not null;
create index conversation_cycles_assignee_idx
  on public.conversation_cycles (company_id, assignee_id, started_at);

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
    )


def downgrade() -> None:
    op.execute(
        """
drop trigger evolution_conversations_cycle_assignee on public.evolution_conversations;
drop function app.open_cycle_follows_assignee();
drop trigger conversation_cycles_assignee on public.conversation_cycles;
drop function app.cycle_takes_assignee();
alter table public.conversation_cycles drop column assignee_id;
"""
    )
