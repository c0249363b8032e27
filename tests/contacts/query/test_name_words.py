"""A name's typo is looked up among the company's name words (migration 0057, search.py): the
words kept as contacts are written, read only in their company, and what a search finds."""

from __future__ import annotations

import random
import uuid

import httpx
import pytest
from sqlalchemy import Text, bindparam, exists, func, literal_column, select, text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from tests.conftest import Factory
from tests.contacts.query.conftest import Tenant, add_contacts, new_tenant
from tests.name_typos import generated_names, typed_words, use_strict_threshold
from zapcrm.contacts.query import repository, source
from zapcrm.contacts.query.search import parse_search, search_clause, typo_lookups
from zapcrm.db import Database
from zapcrm.models import Role

NAMES = [
    "João Silva",
    "Silvana Souza",  # holds "silva" inside a longer word
    "Ana Silva-Santos",
    "(Silva) Pereira",
    "Jônatas Damasceno",
    "Maria da Silva",
]


async def _found(api: httpx.AsyncClient, tenant: Tenant, q: str, **params: str) -> list[str]:
    response = await api.get(
        "/api/contacts", params={"q": q, **params}, headers=tenant.headers[Role.OPERATOR]
    )
    assert response.status_code == 200, response.text
    return [item["name"] for item in response.json()["items"]]


async def _spellings(db: Database, tenant: Tenant, *words: str) -> dict[str, list[str]]:
    async with db.tenant_session(tenant.identity(Role.OPERATOR).claims) as session:
        found = await repository.words_within_typo(session, tenant.company_id, words)
    return {word: sorted(spellings) for word, spellings in found.items()}


@pytest.fixture
async def pair(api: httpx.AsyncClient, db: Database, factory: Factory) -> tuple[Tenant, Tenant]:
    """Two companies: one with NAMES, one with a name only it has."""
    first = await new_tenant(factory, api, roles=[Role.OPERATOR])
    second = await new_tenant(factory, api, roles=[Role.OPERATOR])
    await add_contacts(db, first, [{"name": name} for name in NAMES])
    await add_contacts(db, second, [{"name": "Zuleica Damasceno"}])
    return first, second


async def test_typos_are_looked_up_among_the_company_name_words(
    db: Database, pair: tuple[Tenant, Tenant]
) -> None:
    first, second = pair
    assert await _spellings(db, first, "silvq", "damaceno", "zuleicq", "xyzw") == {
        "silvq": ["silva"],
        "damaceno": ["damasceno"],
        "zuleicq": [],  # only the other company has a Zuleica
        "xyzw": [],
    }
    assert await _spellings(db, second, "zuleicq", "silvq") == {"zuleicq": ["zuleica"], "silvq": []}
    # Under RLS the table itself shows a member only the words of their company.
    async with db.tenant_session(first.identity(Role.OPERATOR).claims) as session:
        words = await session.execute(text("select distinct word from public.contact_name_words"))
        assert {row[0] for row in words} == {
            "joao", "silva", "silvana", "souza", "ana", "santos", "pereira", "jonatas",
            "damasceno", "maria", "da",
        }  # fmt: skip


async def test_the_words_follow_new_contacts_and_renames(
    api: httpx.AsyncClient, db: Database, pair: tuple[Tenant, Tenant]
) -> None:
    first, _second = pair
    assert await _spellings(db, first, "zulmirq") == {"zulmirq": []}
    contact_id = first.contacts["Silvana Souza"]
    renamed = await api.patch(
        f"/api/contacts/{contact_id}",
        json={"name": "Zulmira Souza"},
        headers=first.headers[Role.OPERATOR],
    )
    assert renamed.status_code == 200, renamed.text
    assert await _spellings(db, first, "zulmirq") == {"zulmirq": ["zulmira"]}
    assert await _found(api, first, "zulmirq") == ["Zulmira Souza"]
    # A word nobody has any more stays; it only finds nobody ("silva" is within a typo too).
    assert await _spellings(db, first, "silvanq") == {"silvanq": ["silva", "silvana"]}
    assert "Zulmira Souza" not in await _found(api, first, "silvanq")
    await add_contacts(db, first, [{"name": "Zuleica Prado"}])
    assert await _found(api, first, "zuleicq prado") == ["Zuleica Prado"]


async def test_a_typo_finds_whole_words_only_in_the_company(
    api: httpx.AsyncClient, pair: tuple[Tenant, Tenant]
) -> None:
    first, second = pair
    # "silva" inside "Silvana" is not the word "silva"; punctuation splits words as pg_trgm does.
    assert set(await _found(api, first, "silvq")) == {
        "João Silva", "Ana Silva-Santos", "(Silva) Pereira", "Maria da Silva",
    }  # fmt: skip
    assert await _found(api, first, "jonatas damaceno") == ["Jônatas Damasceno"]
    assert await _found(api, second, "damaceno") == ["Zuleica Damasceno"]
    assert await _found(api, first, "zuleicq") == []
    # Newest first, page by page, as before.
    first_page = await api.get(
        "/api/contacts", params={"q": "silvq", "limit": "3"}, headers=first.headers[Role.OPERATOR]
    )
    body = first_page.json()
    rest = await _found(api, first, "silvq", limit="3", cursor=body["next_cursor"])
    paged = [item["name"] for item in body["items"]] + rest
    assert paged == await _found(api, first, "silvq")
    assert len(paged) == 4


def test_a_looked_up_word_is_not_tested_by_the_typo_operator() -> None:
    term = parse_search("joao silvq o'brien")
    assert term is not None
    assert typo_lookups(term) == ("joao", "silvq")  # not "o'brien": pg_trgm splits it
    compiled = str(search_clause(term, {"joao": ["joao"], "silvq": ["silva", "silvia"]}))
    assert compiled.count("<<%") == 1  # o'brien's only
    assert "regexp_like" in compiled
    # A word no name word is within a typo of keeps the operator (see the next test).
    assert str(search_clause(term, {"joao": [], "silvq": ["silva"]})).count("<<%") == 2


@pytest.mark.parametrize("threshold", [None, "0.3", "0.7"])
async def test_the_words_find_what_the_typo_operator_finds_through_one_word(
    db: Database, factory: Factory, threshold: str | None
) -> None:
    """On generated names, a typed word looked up among the name words finds the names `<<%`
    finds, at pg_trgm's threshold or another set in the transaction; it may miss only names it
    is within a typo of across several of their words, and a word with no name word within a
    typo ("dasilva": 0.55 with "da Silva", 0.4 with "Silva") still finds those by `<<%`."""
    tenant = await new_tenant(factory)
    rng = random.Random(7)
    names = [*generated_names(rng, 300), "Maria da Silva", "João Silva"]
    await add_contacts(db, tenant, [{"name": name} for name in names])
    read = source.stored_name_table()
    dasilva = {"maria da silva"}
    async with db.tenant_session(tenant.identity(Role.OPERATOR).claims) as session:
        await use_strict_threshold(session, threshold)
        for word in [*typed_words(rng), "dasilva", "joaosilva"]:
            term = parse_search(word)
            assert term is not None
            lookups = typo_lookups(term)
            if not lookups:
                continue
            spellings = await repository.words_within_typo(session, tenant.company_id, lookups)
            before = await _names(session, tenant.company_id, search_clause(term))
            after = await _names(session, tenant.company_id, search_clause(term, spellings))
            assert after <= before, word
            # Every name only the operator finds holds no single word within the typo.
            typed = bindparam(None, word.lower(), type_=Text)
            words = (
                func.regexp_split_to_table(
                    read.c.search_name, literal_column("'[^[:alnum:]]+'"), type_=Text
                )
                .table_valued("word")
                .render_derived(name="parts")
            )
            one_word = exists(select(words.c.word).where(typed.op("<<%")(words.c.word)))
            for name in before - after:
                statement = select(one_word).select_from(read).where(read.c.search_name == name)
                assert not (await session.execute(statement)).scalar(), (word, name)
            if word == "dasilva" and threshold is None:
                assert spellings == {"dasilva": []}
                assert dasilva <= after


async def _names(
    session: AsyncSession, company_id: uuid.UUID, clause: ColumnElement[bool]
) -> set[str]:
    read = source.contacts()
    statement = select(read.c.search_name).where(read.c.company_id == company_id, clause)
    return set((await session.execute(statement)).scalars())
