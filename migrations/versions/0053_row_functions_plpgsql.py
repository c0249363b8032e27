"""The two functions every contact write calls are PL/pgSQL without a `set` clause.

`app.search_text(name)` and `app.folded_tags(tags)` compute the stored `search_name` and
`folded_tags` columns of each contact an import, a webhook or a form writes. Neither can be
inlined (one calls the STABLE `unaccent` inside an IMMUTABLE function, the other has a FROM), so
Postgres ran each as a SQL function: the SQL-function executor set up for every call, and
`search_text`'s `set search_path` clause changed the configuration twice per call on top. On
1,000,000 names (machine under load, three runs): `search_text` 4.6-5.6 s as it was, 1.6-2.2 s
as PL/pgSQL without the clause, 0.2 s for the column alone; `folded_tags` 6.1-7.2 s -> 2.5-3.1 s.
An import of 1,000,000 contacts calls both once per row, and again for each row it updates.

Same answers: `search_text` is the same expression; `folded_tags` lower-cases the elements in
order, a NULL element staying NULL and no tags giving `{}`, as `array_agg` over `unnest` did
(tests/contacts/test_folded_functions.py compares them on generated arrays). Without the
clause, every name is spelled out: `unaccent` and its dictionary live in the schema the
extension was installed in (`public` here, `extensions` on Supabase when it was enabled from the
dashboard), looked up when this migration runs. CREATE OR REPLACE keeps the grants; the stored
columns and the indexes on them stay valid because no value changes.

Revision ID: 0053
Revises: 0052
Create Date: 2026-11-29
"""

from collections.abc import Sequence

from alembic import op
from sqlalchemy import text

revision: str = "0053"
down_revision: str | None = "0052"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_SEARCH_TEXT = """
create or replace function app.search_text(value text) returns text
language plpgsql immutable parallel safe as $$
begin
  return pg_catalog.lower(
    {schema}.unaccent('{schema}.unaccent'::regdictionary, coalesce(value, ''))
  );
end
$$;
"""

_FOLDED_TAGS = """
create or replace function app.folded_tags(tags text[]) returns text[]
language plpgsql immutable parallel safe as $$
declare
  tag text;
  folded text[] := '{}';
begin
  foreach tag in array coalesce(tags, '{}') loop
    folded := folded || pg_catalog.lower(tag);
  end loop;
  return folded;
end
$$;
"""

# As migrations 0006 and 0040 wrote them (the downgrade restores them byte for byte).
_SEARCH_TEXT_BEFORE = """
create or replace function app.search_text(value text) returns text
language sql immutable parallel safe set search_path = public, extensions, pg_catalog as $$
  select lower(unaccent('unaccent', coalesce(value, '')))
$$;
"""

_FOLDED_TAGS_BEFORE = """
create or replace function app.folded_tags(tags text[]) returns text[]
language sql immutable parallel safe as $$
  select coalesce(pg_catalog.array_agg(pg_catalog.lower(tag)), '{}'::text[])
  from pg_catalog.unnest(tags) as tag
$$;
"""


def upgrade() -> None:
    schema = (
        op.get_bind()
        .execute(
            text(
                "select quote_ident(n.nspname) from pg_extension e"
                " join pg_namespace n on n.oid = e.extnamespace where e.extname = 'unaccent'"
            )
        )
        .scalar_one()
    )
    op.execute(_SEARCH_TEXT.format(schema=schema))
    op.execute(_FOLDED_TAGS)


def downgrade() -> None:
    op.execute(_SEARCH_TEXT_BEFORE)
    op.execute(_FOLDED_TAGS_BEFORE)
