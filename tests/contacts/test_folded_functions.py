"""`app.search_text` and `app.folded_tags` (PL/pgSQL since migration 0053) give exactly what
their SQL definitions before it gave, on any name and any tags: the stored `search_name` and
`folded_tags` of existing contacts stay valid, and so do the indexes on them."""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

# The definitions of migrations 0006 and 0040, as expressions.
SEARCH_TEXT_BEFORE = "lower(unaccent('unaccent', coalesce(%(value)s::text, '')))"
FOLDED_TAGS_BEFORE = (
    "(select coalesce(array_agg(lower(tag)), '{}'::text[]) from unnest(%(value)s::text[]) as tag)"
)

# Postgres text holds no NUL; everything else may appear in a name or a tag, including the
# characters an array literal quotes or escapes.
_TEXT = st.text(
    alphabet=st.characters(exclude_characters="\x00", codec="utf-8"),
    max_size=40,
) | st.sampled_from(["", "NULL", "null", 'a"b', "a\\b", "{x,y}", " VIP ", "ÁÉÍÕÇ", "İ", "ß"])


@pytest.fixture(scope="module")
def connection(database_url: str) -> Iterator[psycopg.Connection]:
    url = database_url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(url, autocommit=True) as connection:
        yield connection


def _same(connection: psycopg.Connection, before: str, now: str, value: object) -> None:
    row = connection.execute(
        f"select {before}, {now}, ({before}) is not distinct from ({now})", {"value": value}
    ).fetchone()
    assert row is not None
    assert row[2], f"{value!r}: before {row[0]!r}, now {row[1]!r}"


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(name=st.none() | _TEXT)
def test_search_text_is_what_it_was(connection: psycopg.Connection, name: str | None) -> None:
    _same(connection, SEARCH_TEXT_BEFORE, "app.search_text(%(value)s::text)", name)


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(tags=st.none() | st.lists(st.none() | _TEXT, max_size=6))
def test_folded_tags_are_what_they_were(
    connection: psycopg.Connection, tags: list[str | None] | None
) -> None:
    _same(connection, FOLDED_TAGS_BEFORE, "app.folded_tags(%(value)s::text[])", tags)


@pytest.mark.parametrize(
    "literal", ["'{}'", "'{{A,B},{C,NULL}}'", "'[3:4]={X,Y}'", "'{\"\"}'", "null"]
)
def test_folded_tags_of_odd_arrays(connection: psycopg.Connection, literal: str) -> None:
    # Arrays psycopg does not build from a list: two dimensions, other bounds, an empty string.
    before = FOLDED_TAGS_BEFORE.replace("%(value)s", literal)
    now = f"app.folded_tags({literal}::text[])"
    row = connection.execute(f"select ({before}) is not distinct from ({now})").fetchone()
    assert row == (True,)


def test_stored_columns_use_them(connection: psycopg.Connection) -> None:
    company = connection.execute(
        "insert into companies (name) values ('Loja') returning id"
    ).fetchone()
    assert company is not None
    row = connection.execute(
        "insert into contacts (company_id, name, tags) values (%s, 'JOSÉ Conceição', %s)"
        " returning search_name, folded_tags",
        (company[0], ["VIP", "Atacado São Paulo"]),
    ).fetchone()
    assert row == ("jose conceicao", ["vip", "atacado são paulo"])
