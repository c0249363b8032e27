"""Search box through GET /api/contacts: typo-tolerant, accent-insensitive names, phones in any
format or prefix, e-mails, combined with a filter, and how a search term is read."""

from __future__ import annotations

import random
from typing import Any

import httpx
import pytest
from sqlalchemy import Text, bindparam, func, literal_column, select
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.sql.elements import ColumnElement

from tests.conftest import Factory
from tests.contacts.query.conftest import Tenant, add_contacts, filter_param, new_tenant
from tests.name_typos import generated_names, typed_words, use_strict_threshold
from zapcrm.contacts.query.search import _may_be_similar, parse_search
from zapcrm.contacts.query.source import search_text
from zapcrm.db import Database
from zapcrm.models import Role

PEOPLE: list[dict[str, Any]] = [
    {"name": "João Silva", "phone_e164": "+5511987654321", "email": "joao.silva@exemplo.com.br"},
    {"name": "João Silveira Santos", "phone_e164": "+5511912340000", "tags": ["vip"]},
    {"name": "José Antônio Conceição", "phone_e164": "+5521987650000", "email": "ze@uol.com.br"},
    {"name": "Maria Souza", "phone_e164": "+5531987651111", "email": "maria.souza@gmail.com"},
    {"name": "Ana Lima", "phone_e164": "+551133334444", "email": "ANA.LIMA@Empresa.com"},
    {"name": "Fernanda O'Brien", "email": "fer@exemplo.com.br"},
    {"name": "Joana Pires", "phone_e164": "+14155550123"},
]


@pytest.fixture(scope="module")
async def people(api: httpx.AsyncClient, db: Database, factory: Factory) -> Tenant:
    """A company whose contacts cover names with accents, phones and e-mails."""
    tenant = await new_tenant(factory, api, roles=[Role.OPERATOR])
    await add_contacts(db, tenant, PEOPLE)
    return tenant


async def found(api: httpx.AsyncClient, tenant: Tenant, q: str, **params: str) -> list[str]:
    """Names the search box returns, in order."""
    response = await api.get(
        "/api/contacts", params={"q": q, **params}, headers=tenant.headers[Role.OPERATOR]
    )
    assert response.status_code == 200, response.text
    return [item["name"] for item in response.json()["items"]]


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        ("Joao Silvq", "João Silva"),  # typo, no accent
        ("JOÃO SILVA", "João Silva"),
        ("silva joão", "João Silva"),  # word order does not matter
        ("jose conceicao", "José Antônio Conceição"),
        ("Antonio", "José Antônio Conceição"),
        ("Conceisão", "José Antônio Conceição"),  # typo inside an accented word
        ("souza", "Maria Souza"),
        ("sou", "Maria Souza"),  # a short substring
        ("o'brien", "Fernanda O'Brien"),
        ("ma so", "Maria Souza"),  # word starts
    ],
)
async def test_names_typo_tolerant_and_accent_insensitive(
    api: httpx.AsyncClient, people: Tenant, q: str, expected: str
) -> None:
    assert expected in await found(api, people, q)
    assert (await found(api, people, q, sort="relevance"))[0] == expected


async def test_a_name_search_does_not_match_everything(
    api: httpx.AsyncClient, people: Tenant
) -> None:
    # "silva" is not "silveira": a typo is one or two letters, not another surname.
    assert set(await found(api, people, "joão silva")) == {"João Silva"}
    assert await found(api, people, "Xavier") == []


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        ("+55 (11) 98765-4321", {"João Silva"}),
        ("11987654321", {"João Silva"}),
        ("5511987654321", {"João Silva"}),
        ("011 98765-4321", {"João Silva"}),
        ("11 8765-4321", {"João Silva"}),  # old 8-digit mobile form
        ("98765", {"João Silva", "José Antônio Conceição", "Maria Souza"}),  # any DDD
        ("11 98765", {"João Silva"}),
        ("+55 11 9", {"João Silva", "João Silveira Santos"}),
        ("(11) 3333-4444", {"Ana Lima"}),
        ("3333", {"Ana Lima"}),
        ("+1 415", {"Joana Pires"}),
        ("4321", {"João Silva"}),  # "the number ending in 4321"
        ("1111", {"Maria Souza"}),
        ("0000", {"José Antônio Conceição", "João Silveira Santos"}),
        ("123", set()),  # too few digits to say whose number ends so
        ("+4321", set()),  # a number typed with + is read from its start only
        ("5550", set()),  # +1 415 555-0123 has no DDD: "5550123" there is no local number
    ],
)
async def test_phones_in_any_format_or_prefix(
    api: httpx.AsyncClient, people: Tenant, q: str, expected: set[str]
) -> None:
    assert set(await found(api, people, q)) == expected


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        ("joao.silva@exemplo.com.br", {"João Silva"}),
        ("ANA.LIMA@EMPRESA.COM", {"Ana Lima"}),
        ("maria.souza@", {"Maria Souza"}),
        ("fer@", {"Fernanda O'Brien"}),
        ("@exemplo", {"João Silva", "Fernanda O'Brien"}),  # the domain's name alone
        ("@gmail", {"Maria Souza"}),
        ("@gmai", set()),  # a domain's name is whole: "gmai" is not "gmail"
        ("@exemplo.com.br", {"João Silva", "Fernanda O'Brien"}),  # everyone at a domain
        ("@EMPRESA.com", {"Ana Lima"}),
        ("@gmail.com", {"Maria Souza"}),
        ("exemplo.com.br", {"João Silva", "Fernanda O'Brien"}),  # a domain as one word
        ("uol.com.br", {"José Antônio Conceição"}),
        ("com.br", {"João Silva", "Fernanda O'Brien", "José Antônio Conceição"}),
    ],
)
async def test_emails_by_prefix_or_domain(
    api: httpx.AsyncClient, people: Tenant, q: str, expected: set[str]
) -> None:
    assert set(await found(api, people, q)) == expected


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        ("gmail", {"Maria Souza"}),  # everyone at gmail.*
        ("exemplo", {"João Silva", "Fernanda O'Brien"}),  # exemplo.com.br
        ("EMPRESA", {"Ana Lima"}),  # stored as Empresa.com
        ("uol", {"José Antônio Conceição"}),  # too short for a typo, still a domain
        ("gmai", set()),  # the domain's name is whole
        ("com", set()),  # the name before the first dot, not any part of the domain
    ],
)
async def test_one_word_finds_everyone_at_a_domain_by_its_name(
    api: httpx.AsyncClient, people: Tenant, q: str, expected: set[str]
) -> None:
    assert set(await found(api, people, q)) == expected


async def test_one_word_also_tries_the_email_prefix(api: httpx.AsyncClient, people: Tenant) -> None:
    # The name branch splits "joao.silva" into words too, so João Silveira Santos may come.
    assert "João Silva" in await found(api, people, "joao.silva")
    assert (await found(api, people, "joao.silva", sort="relevance"))[0] == "João Silva"
    assert await found(api, people, "ze@") == ["José Antônio Conceição"]
    assert await found(api, people, "fer") == ["Fernanda O'Brien"]


async def test_search_combines_with_a_filter_and_sorts(
    api: httpx.AsyncClient, people: Tenant
) -> None:
    vip = filter_param({"field": "tags", "operator": "contains", "value": "vip"})
    assert await found(api, people, "joao", filter=vip) == ["João Silveira Santos"]
    by_name = await found(api, people, "joão", sort="name")
    assert by_name == ["João Silva", "João Silveira Santos"]
    # Punctuation alone is no search: everyone comes back.
    assert len(await found(api, people, " ?! ")) == len(PEOPLE)


def test_reading_the_search_box() -> None:
    assert parse_search("   ") is None
    assert parse_search("...") is None
    name = parse_search("  João,  da Silva! ")
    assert name is not None
    assert (name.kind, name.words) == ("name", ("João", "da", "Silva"))
    many = parse_search("a b c d e f g h")
    assert many is not None
    assert len(many.words) == 6
    email = parse_search("Maria@X.com")
    assert email is not None
    assert (email.kind, email.text) == ("email", "maria@x.com")
    local = parse_search("98765")
    assert local is not None
    assert local.kind == "phone"
    # Under any DDD (one range after `+55` and the DDD), or as typed after a country code.
    assert local.local_numbers == ("98765",)
    assert set(local.phone_prefixes) == {"+98765", "+5598765"}
    national = parse_search("(11) 98765")
    assert national is not None
    assert set(national.phone_prefixes) == {"+1198765", "+551198765"}
    assert national.local_numbers == ()  # an area code starts with 1-9, a number with 2-9
    international = parse_search("+55 11 98765-4321")
    assert international is not None
    assert international.phone_prefixes == ("+5511987654321",)
    assert international.phone_suffixes == ()
    assert international.local_numbers == ()
    assert local.phone_suffixes == ("98765",)
    # A prefix that a shorter one covers is dropped (one index probe less).
    short = parse_search("55")
    assert short is not None
    assert short.phone_prefixes == ("+55",)


async def _screened(db: Database, threshold: str | None) -> list[tuple[str, str, bool, bool]]:
    """(typed, name, word <<% name, the screen) for typed words against generated names."""
    rng = random.Random(5)
    names = generated_names(rng, 300)
    listed = func.unnest(bindparam(None, names, type_=ARRAY(Text))).table_valued("value")
    listed = listed.render_derived(name="listed")
    name = search_text(listed.c.value)
    rows = []
    async with db.service_session() as session:
        await use_strict_threshold(session, threshold)
        for word in typed_words(rng):
            screen = _may_be_similar(word, name)
            assert screen is not None, word
            similar = search_text(bindparam(None, word, type_=Text)).op("<<%")(name)
            statement = select(listed.c.value, similar, screen).select_from(listed)
            rows += [(word, *row) for row in (await session.execute(statement)).all()]
    return rows


@pytest.mark.parametrize("threshold", [None, "0.3", "0.7"])
async def test_the_typo_screen_keeps_every_name_the_typo_matches(
    db: Database, threshold: str | None
) -> None:
    """The cheap test before `<<%` (search.py `_may_be_similar`) never drops a name the
    operator matches, at pg_trgm's threshold or another set in the transaction; and it does
    drop most of the others (it is there to spare them the operator; here names and typos
    share a few words, and a name with a multibyte character always passes)."""
    rows = await _screened(db, threshold)
    assert [row for row in rows if row[2] and not row[3]] == []
    assert sum(1 for row in rows if row[2]) > 500  # typos the operator matched
    unmatched = [row for row in rows if not row[2]]
    assert sum(1 for row in unmatched if not row[3]) > 0.6 * len(unmatched)


def test_the_typo_screen_only_reads_ascii_words() -> None:
    name: ColumnElement[str] = literal_column("search_name", Text)
    # pg_trgm splits "joao.silva" into words; an accent is folded by app.search_text().
    for typed in ("joao.silva", "o'brien", "conceisão", "ana-maria", "x"):
        assert _may_be_similar(typed, name) is None
    assert _may_be_similar("Silvq", name) is not None
