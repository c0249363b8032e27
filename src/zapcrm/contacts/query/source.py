"""What contact reads select from, and why (migration 0010).

Under RLS, Postgres evaluates a condition inside an index scan only when its operator is
LEAKPROOF (it must not see another company's rows before the policy filters them). Equality and
ranges on text, uuid and timestamps are; LIKE, the pg_trgm operators, array containment
(`@>`, `&&`), `lower()` and `unaccent()` are not. So under RLS a name search, a tag filter or an
e-mail prefix could not use its index and read the company's rows one by one.

Reads therefore go through `app.company_contacts`, a view owned by the table owner whose WHERE
applies the contacts policy's tenant rule from the same JWT claims; without a security barrier
the planner uses every index. It lives in schema `app`, which PostgREST does not expose, so only
this backend's whitelisted SQL reaches it; writes stay on the table under RLS. Name searches
compare `search_name`, a stored generated column (unaccent was most of the per-row cost).
bench/search.py measures the variants.
"""

from __future__ import annotations

from typing import Any, cast

from sqlalchemy import Column, MetaData, Table, Text, func
from sqlalchemy.dialects.postgresql import ARRAY, UUID
from sqlalchemy.sql.elements import ColumnElement

from zapcrm.models import Contact

__all__ = [
    "CONTACTS",
    "SEARCH_NAME_SQL",
    "STORED_SEARCH_NAME",
    "TENANT_VIEW_SQL",
    "contacts",
    "folded_tags",
    "name_words",
    "search_name",
    "search_text",
    "stored_name_table",
    "table",
    "tenant_view",
]

TABLE = cast(Table, Contact.__table__)
TENANT_VIEW_SQL = (
    "create view app.company_contacts as select * from public.contacts"
    " where company_id = (select app.current_company_id());"
    " grant select on app.company_contacts to authenticated;"
)
SEARCH_NAME_SQL = (
    "alter table public.contacts add column search_name text"
    " generated always as (app.search_text(name)) stored;"
    " drop index public.contacts_name_search_idx;"
    " create index contacts_name_search_idx on public.contacts"
    " using gin (search_name gin_trgm_ops);"
)

# Both are read at every call (never imported by value), so each switch is one line here.
CONTACTS: Table = TABLE
STORED_SEARCH_NAME = True


def tenant_view() -> Table:
    """`app.company_contacts`: the contacts of the caller's company, with the table's columns."""
    return Table("company_contacts", MetaData(), *_read_columns(), schema="app")


def stored_name_table() -> Table:
    """`public.contacts` as reads see it once it has the stored `search_name` column."""
    return Table("contacts", MetaData(), *_read_columns())


def contacts() -> Table:
    """The relation contact reads select from."""
    return CONTACTS


def table() -> Table:
    """The contacts table itself, for writes (they stay under RLS)."""
    return TABLE


def search_text(value: ColumnElement[Any]) -> ColumnElement[str]:
    """`app.search_text(value)`: lower case, no accents; the expression the trigram index uses."""
    return func.app.search_text(value, type_=Text)


def folded_tags(tags: ColumnElement[Any]) -> ColumnElement[list[str]]:
    """`app.folded_tags(tags)`: tags in lower case, folded as the stored `folded_tags` column
    is (migration 0040), for the values a filter compares with it."""
    return func.app.folded_tags(tags, type_=ARRAY(Text))


def search_name() -> ColumnElement[str]:
    """The contact's name as searches compare it (lower case, no accents)."""
    read = contacts()
    if STORED_SEARCH_NAME:
        stored: ColumnElement[str] = read.c.search_name
        return stored
    return search_text(read.c.name)


def name_words() -> Table:
    """The distinct words of the company's contact names, folded as `search_name` (migration
    0057): through `app.company_contact_name_words`, the tenant rule of `contacts()`, when
    contacts are read through the tenant view, else from the table as they are."""
    return _NAME_WORDS_VIEW if contacts().schema == "app" else _NAME_WORDS_TABLE


def _name_words(name: str, schema: str | None) -> Table:
    return Table(
        name,
        MetaData(),
        Column("company_id", UUID(as_uuid=True)),
        Column("word", Text),
        schema=schema,
    )


_NAME_WORDS_VIEW = _name_words("company_contact_name_words", "app")
_NAME_WORDS_TABLE = _name_words("contact_name_words", None)


def _read_columns() -> list[Column[Any]]:
    # The model maps search_name (migration 0010), so the table's columns are the view's.
    return [Column(c.name, c.type, primary_key=c.primary_key) for c in TABLE.c]


# Migration 0010 created both: read through the tenant view, search the stored name.
CONTACTS = tenant_view()
