"""The words of a company's contact names, so a typo is looked up among words, not names.

A name search tolerates typos with pg_trgm's strict word similarity (`word <<% search_name`).
Asked of the trigram index on 1,000,000 names, it decodes the posting lists of every trigram of
the typed word, the word-edge ones too ("  d" is in 288,737 names): ~12 ms a word, and
"damaceno" alone then rechecks `<<%` on each of the ~4,100 Damascenos (bench/search.py).
`contact_name_words` holds each distinct word of the company's names (as `search_name` holds
them: folded, split where pg_trgm splits, at characters that are not letters or digits): a few
thousand rows, where the same `<<%` finds the spellings a typed word is within a typo of in
well under a millisecond; the search then looks for those exact words
(contacts/query/search.py).

Filled by triggers on contacts: every inserted row (a statement trigger with its transition
table, so an import batch or a COPY of 20,000 rows adds its new words in one statement) and
every change of a name. A word is added only when the company lacks it, without a unique
index: two transactions adding the same new word at once (import lanes) must not wait for each
other, and a word twice is harmless (readers take distinct words). Words are never removed: a
word nobody has any more only costs its lookup a LIKE that finds nobody.

Read by the backend through `app.company_contact_name_words` (the tenant rule of
`app.company_contacts`, migration 0010: under RLS the trigram index could not be used); under
RLS its company's members may read it, and only the triggers write it (SECURITY DEFINER).

Revision ID: 0057
Revises: 0056
Create Date: 2026-11-30
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0057"
down_revision: str | None = "0056"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# pg_trgm splits a text into words at every character that is not alphanumeric.
_WORDS_OF = "pg_catalog.regexp_split_to_table({name}, '[^[:alnum:]]+')"

# The distinct words of `rows` the company lacks. Split at spaces first and the few distinct
# pieces then by the expression: a regular expression on each name took 130-260 ms a batch of
# 20,000 contacts, this 35-45 ms (bench/search.py's names, a loaded machine).
_NEW_WORDS = (
    """
  with spaced as (
    select distinct r.company_id, s.piece from {rows} r
    cross join lateral unnest(pg_catalog.string_to_array(r.search_name, ' ')) s (piece)
  )
  select distinct spaced.company_id, w.word
  from spaced cross join lateral """
    + _WORDS_OF.format(name="spaced.piece")
    + """ as w (word)
  where w.word <> '' and not exists (
    select from public.contact_name_words k
    where k.company_id = spaced.company_id and k.word = w.word
  )"""
)

_TABLE = """
create table public.contact_name_words (
  id bigint generated always as identity primary key,
  company_id uuid not null references public.companies (id) on delete cascade,
  word text not null
);
create index contact_name_words_company_word_idx
  on public.contact_name_words (company_id, word);
create index contact_name_words_trgm_idx
  on public.contact_name_words using gin (word gin_trgm_ops);
alter table public.contact_name_words enable row level security;
create policy contact_name_words_select on public.contact_name_words for select
  to authenticated using (company_id = (select app.current_company_id()));
-- As every tenant table: the policies decide, and there is none but reading.
revoke all on public.contact_name_words from anon;
grant select, insert, update, delete on public.contact_name_words to authenticated;
grant all on public.contact_name_words to service_role;

create view app.company_contact_name_words as
  select company_id, word from public.contact_name_words
  where company_id = (select app.current_company_id());
grant select on app.company_contact_name_words to authenticated;
"""

_TRIGGERS = f"""
create function app.remember_name_words() returns trigger
language plpgsql security definer set search_path = '' as $$
begin
  insert into public.contact_name_words (company_id, word)
{_NEW_WORDS.format(rows="new_rows")};
  return null;
end
$$;
revoke all on function app.remember_name_words() from public;

create function app.remember_renamed_words() returns trigger
language plpgsql security definer set search_path = '' as $$
begin
  insert into public.contact_name_words (company_id, word)
  select distinct new.company_id, w.word
  from {_WORDS_OF.format(name="new.search_name")} as w (word)
  where w.word <> '' and not exists (
    select from public.contact_name_words k where k.company_id = new.company_id and k.word = w.word
  );
  return null;
end
$$;
revoke all on function app.remember_renamed_words() from public;

create trigger contacts_name_words_insert after insert on public.contacts
  referencing new table as new_rows
  for each statement execute function app.remember_name_words();
create trigger contacts_name_words_rename after update of name on public.contacts
  for each row when (old.name is distinct from new.name)
  execute function app.remember_renamed_words();
"""

_BACKFILL = f"""
insert into public.contact_name_words (company_id, word)
{_NEW_WORDS.format(rows="public.contacts")};
analyze public.contact_name_words;
"""


def upgrade() -> None:
    op.execute(_TABLE)
    op.execute(_TRIGGERS)
    op.execute(_BACKFILL)


def downgrade() -> None:
    op.execute("drop trigger contacts_name_words_rename on public.contacts")
    op.execute("drop trigger contacts_name_words_insert on public.contacts")
    op.execute("drop function app.remember_renamed_words()")
    op.execute("drop function app.remember_name_words()")
    op.execute("drop view app.company_contact_name_words")
    op.execute("drop table public.contact_name_words")
