"""How many contacts each funnel stage holds, kept as it changes (the board's counts).

The funnel board (Contatos → Funil) counted the company's contacts per stage at every load:
a scan of all of them, 69 ms at 200,000 contacts and 0.8-1 s at 1,000,000 (bench/funnel.py),
most of the page. `contact_stage_tallies` holds signed counts per (company, stage): statement
triggers on `contacts` append, for each INSERT, UPDATE, DELETE or COPY, one row per stage it
changed with the difference (transition tables: a 20,000-row import batch appends a few rows,
not 20,000 updates of one counter). Rows are only ever appended, so concurrent writers (import
lanes, webhooks) never wait on each other's counter; the worker folds each company's rows into
one per stage now and then (`app.fold_stage_tallies`). A stage's count is the sum of its rows.

Counted like the board: contacts not merged into another. TRUNCATE of contacts empties the
tallies. Read under RLS by the company's members; written only by the triggers (SECURITY
DEFINER) and the fold.

Revision ID: 0052
Revises: 0051
Create Date: 2026-11-29
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0052"
down_revision: str | None = "0051"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TABLE = """
create table public.contact_stage_tallies (
  id bigint generated always as identity primary key,
  company_id uuid not null references public.companies (id) on delete cascade,
  funnel_stage text,
  contacts bigint not null
);
create index contact_stage_tallies_company_idx
  on public.contact_stage_tallies (company_id, funnel_stage);
alter table public.contact_stage_tallies enable row level security;
create policy contact_stage_tallies_select on public.contact_stage_tallies for select
  to authenticated using (company_id = (select app.current_company_id()));
-- As every tenant table: the policies decide, and there is none but reading.
revoke all on public.contact_stage_tallies from anon;
grant select, insert, update, delete on public.contact_stage_tallies to authenticated;
grant all on public.contact_stage_tallies to service_role;
"""

# One function for the three statement triggers: each names only the transition tables its
# event has, and PL/pgSQL plans a branch's statement only when it runs. A company being deleted
# takes its contacts and its counts with it (cascades): no count is written for it then.
_TALLY = """
create function app.tally_contact_stages() returns trigger
language plpgsql security definer set search_path = '' as $$
begin
  if tg_op = 'INSERT' then
    insert into public.contact_stage_tallies (company_id, funnel_stage, contacts)
    select n.company_id, n.funnel_stage, count(*) from new_rows n
    where n.merged_into_id is null group by 1, 2;
  elsif tg_op = 'DELETE' then
    insert into public.contact_stage_tallies (company_id, funnel_stage, contacts)
    select o.company_id, o.funnel_stage, -count(*) from old_rows o
    where o.merged_into_id is null and exists (select from public.companies c
      where c.id = o.company_id)
    group by 1, 2;
  else
    insert into public.contact_stage_tallies (company_id, funnel_stage, contacts)
    select d.company_id, d.funnel_stage, sum(d.change) from (
      select o.company_id, o.funnel_stage, -1 as change from old_rows o
      where o.merged_into_id is null
      union all
      select n.company_id, n.funnel_stage, 1 from new_rows n where n.merged_into_id is null
    ) d where exists (select from public.companies c where c.id = d.company_id)
    group by 1, 2 having sum(d.change) <> 0;
  end if;
  return null;
end
$$;
revoke all on function app.tally_contact_stages() from public;

create function app.forget_stage_tallies() returns trigger
language plpgsql security definer set search_path = '' as $$
begin
  delete from public.contact_stage_tallies;
  return null;
end
$$;
revoke all on function app.forget_stage_tallies() from public;

create trigger contacts_tally_insert after insert on public.contacts
  referencing new table as new_rows
  for each statement execute function app.tally_contact_stages();
create trigger contacts_tally_update after update on public.contacts
  referencing old table as old_rows new table as new_rows
  for each statement execute function app.tally_contact_stages();
create trigger contacts_tally_delete after delete on public.contacts
  referencing old table as old_rows
  for each statement execute function app.tally_contact_stages();
create trigger contacts_tally_truncate after truncate on public.contacts
  for each statement execute function app.forget_stage_tallies();
"""

# Rows inserted after the DELETE's snapshot, or not yet committed, are neither deleted nor
# summed: they stay as they are, so every stage's sum is the same before and after.
_FOLD = """
create function app.fold_stage_tallies(p_rows_over integer) returns integer
language sql security definer set search_path = '' as $$
  with crowded as (
    select t.company_id from public.contact_stage_tallies t
    group by t.company_id having count(*) > p_rows_over
  ),
  folded as (
    delete from public.contact_stage_tallies t using crowded c
    where t.company_id = c.company_id
    returning t.company_id, t.funnel_stage, t.contacts
  ),
  kept as (
    insert into public.contact_stage_tallies (company_id, funnel_stage, contacts)
    select f.company_id, f.funnel_stage, sum(f.contacts) from folded f
    group by 1, 2 having sum(f.contacts) <> 0
    returning 1
  )
  select count(*)::integer from folded
$$;
revoke all on function app.fold_stage_tallies(integer) from public;
grant execute on function app.fold_stage_tallies(integer) to service_role;
"""

_FILL = """
insert into public.contact_stage_tallies (company_id, funnel_stage, contacts)
select company_id, funnel_stage, count(*) from public.contacts
where merged_into_id is null group by 1, 2;
"""


def upgrade() -> None:
    op.execute(_TABLE)
    op.execute(_TALLY)
    op.execute(_FOLD)
    # Under the table lock, so no contact changes between the count and the triggers.
    op.execute("lock table public.contacts in share row exclusive mode")
    op.execute(_FILL)


def downgrade() -> None:
    for trigger in ("insert", "update", "delete", "truncate"):
        op.execute(f"drop trigger contacts_tally_{trigger} on public.contacts")
    op.execute("drop function app.fold_stage_tallies(integer)")
    op.execute("drop function app.forget_stage_tallies()")
    op.execute("drop function app.tally_contact_stages()")
    op.execute("drop table public.contact_stage_tallies")
