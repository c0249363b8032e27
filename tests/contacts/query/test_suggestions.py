"""'Você quis dizer…?': other spellings for a name search that found nobody, ranked in Python
(suggestions.py) over the words of names Postgres finds loosely (repository.name_words_like)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.conftest import Factory
from tests.contacts.query.conftest import Tenant, add_contacts, new_tenant
from zapcrm.contacts.query import service
from zapcrm.contacts.query.suggestions import (
    NameWord,
    allowance,
    corrections,
    spellings,
    swaps,
)
from zapcrm.db import Database
from zapcrm.kit.folding import fold
from zapcrm.models import Role


def _words(*written: str, uses: int = 1) -> list[NameWord]:
    return [NameWord(fold(word), word, uses) for word in written]


def test_a_swap_of_two_letters_is_one_edit_and_the_first_letter_breaks_ties() -> None:
    seen = _words("Lívia", "Olívia", "Sílvia", "Silva")
    # All three are one edit from "slivia" (a swap, a missing s, an s for an o); people seldom
    # mistype the first letter, so Sílvia comes first. "Silva" is two edits, which a word of six
    # letters allows, so it comes last.
    assert [w.written for w in corrections("slivia", seen, 5)] == [
        "Sílvia",
        "Lívia",
        "Olívia",
        "Silva",
    ]
    assert [w.written for w in corrections("Slivia", seen, 2)] == ["Sílvia", "Lívia"]


def test_the_swaps_looked_for_as_they_are() -> None:
    assert swaps("Slivia") == ["lsivia", "silvia", "slviia", "sliiva", "slivai"]
    assert swaps("Anna") == ["nana", "anan"]  # swapping the two n changes nothing
    assert swaps("Jaõo") == ["ajoo", "joao"]  # folded first: "jaoo"


def test_short_words_allow_one_edit_longer_ones_two() -> None:
    assert (allowance("joao"), allowance("silva"), allowance("damaceno")) == (1, 1, 2)
    seen = _words("Joana", "João", "Jonas")
    assert [w.written for w in corrections("jaoo", seen, 5)] == ["João"]
    assert [w.written for w in corrections("jonaas", seen, 5)] == ["Jonas", "Joana"]
    # Under four letters a word is kept as typed: one edit from it is too many names.
    assert spellings(["jao"], {"jao": seen}, 3) == []


def test_the_most_used_spelling_wins_a_tie() -> None:
    seen = [NameWord("damasceno", "Damasceno", 40), NameWord("damaceno", "Damaceno", 1)]
    assert [w.written for w in corrections("damacenno", seen, 5)] == ["Damaceno", "Damasceno"]
    seen = [NameWord("souza", "Souza", 3), NameWord("sousa", "Sousa", 9)]
    assert [w.written for w in corrections("sozua", seen, 5)] == ["Souza"]  # one swap vs two


def test_spellings_respell_only_the_unknown_words() -> None:
    seen = {
        "jonatas": _words("Jonatas", "Jônatas"),
        "damacenno": [NameWord("damasceno", "Damasceno", 12)],
    }
    assert spellings(["jonatas", "damacenno"], seen, 3) == ["jonatas Damasceno"]
    # The first unknown word offers its alternatives; the next one its best.
    seen = {"slivia": _words("Sílvia", "Lívia"), "santso": _words("Santos")}
    assert spellings(["slivia", "santso"], seen, 3) == ["Sílvia Santos", "Lívia Santos"]
    # "Gabriel" finds every Gabriela already: one offer for both.
    seen = {"gabirel": _words("Gabriel", "Gabriela", "Gabriele")}
    assert spellings(["gabirel"], seen, 3) == ["Gabriel"]
    # Nothing to respell: every word is known (the people just do not go together), or short.
    assert spellings(["jonatas", "da"], {"jonatas": _words("Jonatas")}, 3) == []
    assert spellings(["xyzw"], {"xyzw": []}, 3) == []


PEOPLE: list[dict[str, Any]] = [
    {"name": "Sílvia Souza", "phone_e164": "+5511987650001"},
    {"name": "Lívia Ramos", "phone_e164": "+5511987650002"},
    {"name": "Olívia Lima", "phone_e164": "+5511987650003"},
    {"name": "Jônatas Damasceno", "phone_e164": "+5511987650004"},
    {"name": "Ana Damasceno (cliente)", "phone_e164": "+5511987650005", "tags": ["vip"]},
]


@pytest.fixture(scope="module")
async def people(api: httpx.AsyncClient, db: Database, factory: Factory) -> Tenant:
    tenant = await new_tenant(factory, api, roles=[Role.OPERATOR])
    await add_contacts(db, tenant, PEOPLE)
    return tenant


async def _suggested(api: httpx.AsyncClient, tenant: Tenant, **params: str) -> list[Any]:
    response = await api.get(
        "/api/contacts/suggestions", params=params, headers=tenant.headers[Role.OPERATOR]
    )
    assert response.status_code == 200, response.text
    return list(response.json())


async def test_a_name_found_nowhere_gets_the_closest_spellings_that_find_someone(
    api: httpx.AsyncClient, people: Tenant
) -> None:
    listed = await api.get(
        "/api/contacts", params={"q": "slivia"}, headers=people.headers[Role.OPERATOR]
    )
    assert listed.json()["items"] == []  # trigrams alone do not see the swap
    assert await _suggested(api, people, q="slivia") == [
        {"q": "Sílvia", "count": 1, "more": False},
        {"q": "Lívia", "count": 2, "more": False},  # Lívia and Olívia, as the search finds
    ]  # Olívia is one edit away too, but "Lívia" finds her already
    assert await _suggested(api, people, q="jonatas damacenno") == [
        {"q": "jonatas Damasceno", "count": 1, "more": False}
    ]


async def test_a_suggestion_counts_up_to_a_limit(
    api: httpx.AsyncClient, people: Tenant, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(service, "SUGGESTION_COUNT_LIMIT", 1)
    assert await _suggested(api, people, q="damacenno") == [
        {"q": "Damasceno", "count": 1, "more": True}
    ]


async def test_suggestions_count_within_the_same_filter_and_leave_out_empty_ones(
    api: httpx.AsyncClient, people: Tenant
) -> None:
    vip = '{"field": "tags", "operator": "contains", "value": "vip"}'
    # Only Ana is a vip: "Damasceno" finds her; no vip is called Sílvia, so none is offered.
    assert await _suggested(api, people, q="damacenno", filter=vip) == [
        {"q": "Damasceno", "count": 1, "more": False}
    ]
    assert await _suggested(api, people, q="slivia", filter=vip) == []


async def test_no_suggestion_for_a_phone_an_address_or_another_company(
    api: httpx.AsyncClient, people: Tenant, factory: Factory
) -> None:
    assert await _suggested(api, people, q="11 9876") == []
    assert await _suggested(api, people, q="silvia@") == []
    assert await _suggested(api, people) == []
    stranger = await new_tenant(factory, api, roles=[Role.OPERATOR])
    assert await _suggested(api, stranger, q="slivia") == []
