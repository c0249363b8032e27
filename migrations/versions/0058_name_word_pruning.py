"""Name words nobody has any more leave `contact_name_words` (migration 0057).

A deleted contact's rare surname stayed in its company's words for good: tied to no person,
but an erasure (LGPD) should take it too, and a word nobody has only costs a search a LIKE that
finds nobody. Checking a word means probing the names' trigram index for it, too slow for a
delete trigger when thousands of contacts go at once (a bulk delete, a company's removal), so
the work is split:

- a statement trigger on delete, and the rename trigger, only mark the words of the names
  that went as `stale` (an index lookup each, one statement for a whole bulk delete);
- the worker's upkeep (contacts/jobs.py) calls `app.prune_name_words(limit)` now and then: of
  the stale words, it deletes those no contact of the company holds as a whole word any more
  and clears the mark of the others.

Revision ID: 0058
Revises: 0057
Create Date: 2026-11-30
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0058"
down_revision: str | None = "0057"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Split as pg_trgm and migration 0057 split names into words.
_WORDS_OF = "pg_catalog.regexp_split_to_table({name}, '[^[:alnum:]]+')"


# The old name's words, for the upkeep's check (upgrade only).
_MARK_OLD_WORDS = f"""  update public.contact_name_words k set stale = true
  from {_WORDS_OF.format(name="old.search_name")} as w (word)
  where k.company_id = old.company_id and k.word = w.word and not k.stale;
"""


def _renamed_words(then: str = "") -> str:
    """The rename trigger's function: the new name's words added (as migration 0057 has it),
    then `then`."""
    return f"""create or replace function app.remember_renamed_words() returns trigger
language plpgsql security definer set search_path = '' as $$
begin
  insert into public.contact_name_words (company_id, word)
  select distinct new.company_id, w.word
  from {_WORDS_OF.format(name="new.search_name")} as w (word)
  where w.word <> '' and not exists (
    select from public.contact_name_words k where k.company_id = new.company_id and k.word = w.word
  );
{then}  return null;
end
$$;
"""


_UPGRADE = f"""
alter table public.contact_name_words add column stale boolean not null default false;
create index contact_name_words_stale_idx on public.contact_name_words (id) where stale;

create function app.mark_gone_name_words() returns trigger
language plpgsql security definer set search_path = '' as $$
begin
  update public.contact_name_words k set stale = true
  from (
    select distinct o.company_id, w.word
    from old_rows o cross join lateral {_WORDS_OF.format(name="o.search_name")} as w (word)
  ) gone
  where k.company_id = gone.company_id and k.word = gone.word and not k.stale;
  return null;
end
$$;
revoke all on function app.mark_gone_name_words() from public;

create trigger contacts_name_words_delete after delete on public.contacts
  referencing old table as old_rows
  for each statement execute function app.mark_gone_name_words();

{_renamed_words(_MARK_OLD_WORDS)}
-- Words are split on every character that is not a letter or a digit, so a word holds no
-- LIKE or regular-expression metacharacter and goes into both patterns as it is.
create function app.prune_name_words(p_limit integer)
returns table (looked_at integer, removed integer)
language plpgsql security definer set search_path = '' as $$
begin
  return query
  with candidates as (
    select k.id, k.company_id, k.word from public.contact_name_words k
    where k.stale order by k.id limit p_limit
    for update skip locked
  ),
  gone as (
    delete from public.contact_name_words k using candidates c
    where k.id = c.id and not exists (
      select from public.contacts x
      where x.company_id = c.company_id
        and x.search_name like '%' || c.word || '%'
        and x.search_name ~ ('(^|[^[:alnum:]])' || c.word || '([^[:alnum:]]|$)')
    )
    returning k.id
  ),
  kept as (
    update public.contact_name_words k set stale = false
    from candidates c
    where k.id = c.id and k.id not in (select g.id from gone g)
  )
  select (select count(*) from candidates)::integer, (select count(*) from gone)::integer;
end
$$;
revoke all on function app.prune_name_words(integer) from public;
grant execute on function app.prune_name_words(integer) to service_role;
"""

_DOWNGRADE = f"""
drop function app.prune_name_words(integer);
{_renamed_words()}drop trigger contacts_name_words_delete on public.contacts;
drop function app.mark_gone_name_words();
drop index public.contact_name_words_stale_idx;
alter table public.contact_name_words drop column stale;
"""


def upgrade() -> None:
    op.execute(_UPGRADE)


def downgrade() -> None:
    op.execute(_DOWNGRADE)
