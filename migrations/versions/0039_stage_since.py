"""Since when each contact is in its funnel stage: `contacts.stage_since`.

The funnel board shows how long each card has been in its column, the way sales teams spot
deals that stall. A trigger sets the time whenever the stage changes, whatever writes it (an
edit, a move on the board, an import's update, a bulk change); a new contact takes the time it
was created (the column's default), so the webhook path and imports pay nothing extra.

Contacts from before this revision take the time of the last recorded stage change of their
timeline (an edit or an import's update that changed it), or else their creation.

`app.company_contacts` (0010) selects `*` as the table was then: it is replaced so that reads
see the new column.

Revision ID: 0039
Revises: 0038
Create Date: 2026-11-28
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0039"
down_revision: str | None = "0038"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TENANT_VIEW = """
create or replace view app.company_contacts as
  select * from public.contacts where company_id = (select app.current_company_id());
"""


def upgrade() -> None:
    op.execute(
        """
alter table public.contacts add column stage_since timestamptz;
update public.contacts c set stage_since = coalesce(
  (select max(e.created_at) from public.contact_events e
   where e.contact_id = c.id and e.company_id = c.company_id
     and e.kind in ('contact.updated', 'import.updated')
     and e.details -> 'changes' ? 'funnel_stage'),
  c.created_at);
alter table public.contacts
  alter column stage_since set default now(),
  alter column stage_since set not null;

create function app.contact_stage_since() returns trigger
language plpgsql set search_path = '' as $$
begin
  new.stage_since := now();
  return new;
end
$$;
create trigger contacts_stage_since before update of funnel_stage on public.contacts
  for each row when (old.funnel_stage is distinct from new.funnel_stage)
  execute function app.contact_stage_since();
"""
        + _TENANT_VIEW
    )


def downgrade() -> None:
    # A view cannot lose a column in place: it is dropped and made again as 0010 made it.
    op.execute(
        """
drop trigger contacts_stage_since on public.contacts;
drop function app.contact_stage_since();
drop view app.company_contacts;
alter table public.contacts drop column stage_since;
"""
        + _TENANT_VIEW.replace("create or replace view", "create view")
        + "grant select on app.company_contacts to authenticated;"
    )
