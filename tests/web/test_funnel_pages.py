"""The funnel board over HTTP: one column per stage with its count and cards, narrowed by the
search box; a move changes the stage like an edit does (timeline, counts), bad moves are
refused with a clear error; a column pages on its own; the stage's name in the contact list;
and the API's counts, with a stage removed while contacts were in it."""

from __future__ import annotations

import re
import uuid
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx

from tests.conftest import Factory, UserFixture, login
from tests.evolution.harness import rows
from tests.web.conftest import Browser, panel_login
from zapcrm.db import Database
from zapcrm.models import Role
from zapcrm.web.pages.funnel import CARDS_PER_PAGE


async def _contact(client: httpx.AsyncClient, headers: dict[str, str], **fields: Any) -> str:
    response = await client.post("/api/contacts", json=fields, headers=headers)
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


async def _shop(
    client: httpx.AsyncClient, factory: Factory
) -> tuple[UserFixture, dict[str, str], dict[str, str]]:
    """A company with the stages Novo contato and Em negociação and four people."""
    company = await factory.company()
    admin = await factory.user(company, Role.ADMIN)
    headers = await login(client, admin)
    for position, (key, label) in enumerate(
        (("novo", "Novo contato"), ("negociacao", "Em negociação"))
    ):
        created = await client.post(
            "/api/funnel-stages",
            json={"key": key, "label": label, "position": position},
            headers=headers,
        )
        assert created.status_code == 201, created.text
    ids = {
        "ana": await _contact(client, headers, name="Ana Souza", phone="11987650101",
                              funnel_stage="novo", tags=["vip"]),
        "bruno": await _contact(client, headers, name="Bruno <b>Lima</b>", phone="21987650102",
                                funnel_stage="novo"),
        "carla": await _contact(client, headers, name="Carla Dias", phone="31987650103",
                                funnel_stage="negociacao"),
        "davi": await _contact(client, headers, name="Davi Rocha", phone="41987650104"),
    }  # fmt: skip
    return admin, headers, ids


def _column(page: str, key: str) -> str:
    """The HTML of one column's card list."""
    found = re.search(rf'<ul id="cards-{key}" class="funnel-cards">(.*?)</ul>', page, re.S)
    assert found, key
    return found.group(1)


def _count(page: str, key: str) -> str:
    found = re.search(rf'id="count-{key}" class="funnel-count"[^>]*>([^<]*)<', page)
    assert found, key
    return found.group(1)


async def test_the_board_shows_each_stage_with_its_contacts_and_moves_them(
    new_browser: Browser, client: httpx.AsyncClient, db: Database, factory: Factory
) -> None:
    admin, headers, ids = await _shop(client, factory)
    http = await new_browser()
    csrf = await panel_login(http, admin)
    board = await http.get("/panel/contacts/funnel")
    assert board.status_code == 200, board.text
    page = board.text
    assert [_count(page, key) for key in ("novo", "negociacao", "_none")] == ["2", "1", "1"]
    assert ids["ana"] in _column(page, "novo")
    assert ids["bruno"] in _column(page, "novo")
    assert ids["carla"] in _column(page, "negociacao")
    assert ids["davi"] in _column(page, "_none")
    assert "Bruno &lt;b&gt;Lima&lt;/b&gt;" in page  # names are escaped
    assert "Sem etapa" in page
    assert "Em negociação" in page
    # The search box narrows every column and its count.
    narrowed = (await http.get("/panel/contacts/funnel", params={"q": "souza"})).text
    assert [_count(narrowed, key) for key in ("novo", "negociacao", "_none")] == ["1", "0", "0"]

    # Ana moves on to the negotiation, on a board narrowed to "souza": the answer puts her card
    # at the top of its new column and recounts every column the way the board counts them.
    moved = await http.post(
        f"/panel/contacts/{ids['ana']}/stage",
        data={"stage": "negociacao", "q": "souza", "segment": ""},
        headers={"X-CSRF-Token": csrf},
    )
    assert moved.status_code == 200, moved.text
    assert '<ul hx-swap-oob="afterbegin:#cards-negociacao">' in moved.text
    assert f'id="card-{ids["ana"]}"' in moved.text
    assert re.search(r'id="count-novo" class="funnel-count" hx-swap-oob="true">0<', moved.text)
    assert re.search(
        r'id="count-negociacao" class="funnel-count" hx-swap-oob="true">1<', moved.text
    )
    # The change is the contact's, in their timeline like an edit of the field.
    [stored] = await rows(
        db, "select funnel_stage from contacts where id = :id", id=uuid.UUID(ids["ana"])
    )
    assert stored["funnel_stage"] == "negociacao"
    [event] = await rows(
        db,
        "select details from contact_events where contact_id = :id and kind = 'contact.updated'",
        id=uuid.UUID(ids["ana"]),
    )
    assert event["details"]["changes"] == {"funnel_stage": {"from": "novo", "to": "negociacao"}}
    timeline = await http.get(f"/panel/contacts/{ids['ana']}")
    assert "<li>Etapa do funil: Novo contato → Em negociação</li>" in timeline.text

    # Out of every stage, then a stage that does not exist and a contact that does not.
    out = await http.post(
        f"/panel/contacts/{ids['carla']}/stage", data={"stage": ""},
        headers={"X-CSRF-Token": csrf},
    )  # fmt: skip
    assert out.status_code == 200, out.text
    assert '<ul hx-swap-oob="afterbegin:#cards-_none">' in out.text
    unknown = await http.post(
        f"/panel/contacts/{ids['davi']}/stage", data={"stage": "ganho"},
        headers={"X-CSRF-Token": csrf},
    )  # fmt: skip
    assert unknown.status_code == 422
    assert "Etapa" in unknown.text
    missing = await http.post(
        f"/panel/contacts/{uuid.uuid4()}/stage", data={"stage": "novo"},
        headers={"X-CSRF-Token": csrf},
    )  # fmt: skip
    assert missing.status_code == 404
    # Without the CSRF token nothing moves.
    forged = await http.post(f"/panel/contacts/{ids['davi']}/stage", data={"stage": "novo"})
    assert forged.status_code == 403
    [davi] = await rows(
        db, "select funnel_stage from contacts where id = :id", id=uuid.UUID(ids["davi"])
    )
    assert davi["funnel_stage"] is None

    # The contact list names the stage, not its key, and opens the board with its search.
    listed = await http.get("/panel/contacts", params={"q": "ana souza"})
    assert "<td>Em negociação</td>" in listed.text
    assert 'href="/panel/contacts/funnel?q=ana+souza&amp;segment="' in listed.text

    # A stage removed while Ana is in it: her card says so, and offers only the stages left.
    stages = (await client.get("/api/funnel-stages", headers=headers)).json()
    negotiation = next(stage for stage in stages if stage["key"] == "negociacao")
    await client.delete(f"/api/funnel-stages/{negotiation['id']}", headers=headers)
    page = (await http.get("/panel/contacts/funnel")).text
    card = re.search(rf'<li id="card-{ids["ana"]}".*?</li>', page, re.S)
    assert card, page
    options = re.findall(r'<option value="([^"]*)"( selected)?>([^<]*)<', card.group(0))
    assert options == [
        ("novo", "", "Novo contato"),
        ("negociacao", " selected", "negociacao (etapa removida)"),
        ("", "", "Sem etapa"),
    ]


async def test_changed_cards_are_read_again_as_the_board_shows_them(
    new_browser: Browser, client: httpx.AsyncClient, factory: Factory
) -> None:
    admin, _, ids = await _shop(client, factory)
    _, _, strangers = await _shop(client, factory)  # another company's people
    http = await new_browser()
    await panel_login(http, admin)
    gone = str(uuid.uuid4())
    asked = [ids["ana"], ids["bruno"], gone, strangers["carla"]]
    answer = await http.get(
        "/panel/contacts/funnel/live", params={"contact": asked, "q": "", "segment": ""}
    )
    assert answer.status_code == 200, answer.text
    html = answer.text
    # Every card asked about leaves its place; the company's own come back at the top of
    # their column, another company's never (RLS), escaped like the board's.
    for contact_id in asked:
        assert f'<li id="card-{contact_id}" hx-swap-oob="delete"></li>' in html
    assert html.count('<ul hx-swap-oob="afterbegin:#cards-novo">') == 2
    assert f'id="card-{strangers["carla"]}" class' not in html
    assert "Bruno &lt;b&gt;Lima&lt;/b&gt;" in html
    assert re.search(r'id="count-novo" class="funnel-count" hx-swap-oob="true">2<', html)
    assert '<span id="funnel-total" hx-swap-oob="true"><strong>4</strong>' in html
    # Narrowed by the board's search: Bruno is no longer among the cards it shows.
    narrowed = await http.get(
        "/panel/contacts/funnel/live", params={"contact": [ids["ana"], ids["bruno"]], "q": "ana"}
    )
    assert narrowed.text.count("afterbegin:#cards-") == 1
    assert f'id="card-{ids["ana"]}" class' in narrowed.text
    assert '<span id="funnel-total" hx-swap-oob="true"><strong>1</strong>' in narrowed.text
    bad = await http.get("/panel/contacts/funnel/live", params={"contact": "x"})
    assert bad.status_code == 422


async def test_each_card_says_how_long_its_contact_is_in_the_stage(
    new_browser: Browser, client: httpx.AsyncClient, db: Database, factory: Factory
) -> None:
    admin, headers, ids = await _shop(client, factory)
    for who, days in (("ana", 40), ("bruno", 1), ("carla", 0)):
        await rows(
            db,
            "update contacts set stage_since = now() - make_interval(days => :days)"
            " where id = :id returning id",
            days=days,
            id=uuid.UUID(ids[who]),
        )
    http = await new_browser()
    csrf = await panel_login(http, admin)
    page = (await http.get("/panel/contacts/funnel")).text

    def age(contact_id: str, html: str) -> str:
        found = re.search(
            rf'id="card-{contact_id}".*?class="(funnel-age[^"]*)"[^>]*>([^<]*)<', html, re.S
        )
        assert found, html
        return f"{found.group(1)}: {found.group(2)}"

    assert age(ids["ana"], page) == "funnel-age: 40 dias na etapa"
    assert age(ids["bruno"], page) == "funnel-age: 1 dia na etapa"
    assert age(ids["carla"], page) == "funnel-age: entrou hoje na etapa"
    davi = re.search(rf'id="card-{ids["davi"]}".*?</li>', page, re.S)
    assert davi is not None
    assert "funnel-age" not in davi.group(0)  # in no stage: nothing to count
    # A move starts the count again; editing anything else does not.
    before = (await client.get(f"/api/contacts/{ids['ana']}", headers=headers)).json()
    renamed = await client.patch(
        f"/api/contacts/{ids['ana']}", json={"name": "Ana S."}, headers=headers
    )
    assert renamed.json()["stage_since"] == before["stage_since"]
    assert "40 dias na etapa" in (await http.get("/panel/contacts/funnel")).text
    moved = await http.post(
        f"/panel/contacts/{ids['ana']}/stage",
        data={"stage": "negociacao"},
        headers={"X-CSRF-Token": csrf},
    )
    assert age(ids["ana"], moved.text) == "funnel-age: entrou hoje na etapa"
    # The contact's page says since when, on the company's clock.
    detail = (await http.get(f"/panel/contacts/{ids['bruno']}")).text
    since = datetime.now(ZoneInfo("America/Sao_Paulo")) - timedelta(days=1)
    assert f"Nesta etapa desde {since:%d/%m/%Y}" in detail
    assert "Nesta etapa desde" not in (await http.get(f"/panel/contacts/{ids['davi']}")).text


async def test_a_column_pages_on_its_own(
    new_browser: Browser, client: httpx.AsyncClient, factory: Factory
) -> None:
    admin, headers, _ = await _shop(client, factory)
    extra = CARDS_PER_PAGE + 3
    for n in range(extra):
        await _contact(
            client, headers, name=f"Lead {n:02d}", phone=f"1198800{n:04d}", funnel_stage="novo"
        )
    http = await new_browser()
    await panel_login(http, admin)
    page = (await http.get("/panel/contacts/funnel")).text
    first = _column(page, "novo")
    assert _count(page, "novo") == str(extra + 2)
    assert first.count('class="funnel-card"') == CARDS_PER_PAGE
    more = re.search(r'hx-get="(/panel/contacts/funnel/cards\?[^"]+)"', first)
    assert more, first
    rest = await http.get(more.group(1).replace("&amp;", "&"))
    assert rest.status_code == 200, rest.text
    assert rest.text.count('class="funnel-card"') == extra + 2 - CARDS_PER_PAGE
    assert "funnel-more" not in rest.text
    shown = re.findall(r'id="card-([0-9a-f-]+)"', first + rest.text)
    assert len(shown) == len(set(shown)) == extra + 2


async def test_a_narrowed_column_shows_more_in_one_pass_with_the_same_cards(
    new_browser: Browser, client: httpx.AsyncClient, factory: Factory
) -> None:
    """A board narrowed to few contacts asks for a column's next cards in one pass (`few`), as
    its first cards were read; the whole board walks its columns. The cards are the same."""
    admin, headers, _ = await _shop(client, factory)
    extra = 2 * CARDS_PER_PAGE + 3
    for n in range(extra):
        await _contact(
            client, headers, name=f"Lead Feira {n:02d}", phone=f"1198800{n:04d}",
            funnel_stage="novo",
        )  # fmt: skip
    http = await new_browser()
    await panel_login(http, admin)
    whole = _column((await http.get("/panel/contacts/funnel")).text, "novo")
    assert "few=true" not in whole
    narrowed = _column((await http.get("/panel/contacts/funnel?q=feira")).text, "novo")
    shown: dict[bool, list[str]] = {}
    for few in (True, False):
        column = narrowed
        shown[few] = re.findall(r'id="card-([0-9a-f-]+)"', column)
        while more := re.search(r'hx-get="(/panel/contacts/funnel/cards\?[^"]+)"', column):
            # Each next page asks as the board did; without `few`, the walk (as before).
            assert ("&amp;few=true" in more.group(1)) is (few or column is narrowed)
            asked = more.group(1).replace("&amp;", "&")
            column = (await http.get(asked if few else asked.replace("&few=true", ""))).text
            shown[few] += re.findall(r'id="card-([0-9a-f-]+)"', column)
    assert len(shown[True]) == len(set(shown[True])) == extra
    assert shown[True] == shown[False]


async def test_the_api_counts_each_stage_and_a_removed_one(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    _, headers, ids = await _shop(client, factory)
    stages = (await client.get("/api/funnel-stages", headers=headers)).json()
    negotiation = next(stage for stage in stages if stage["key"] == "negociacao")
    removed = await client.delete(f"/api/funnel-stages/{negotiation['id']}", headers=headers)
    assert removed.status_code == 204
    funnel = await client.get("/api/contacts/funnel", headers=headers)
    assert funnel.status_code == 200, funnel.text
    nothing_summed = {"value_key": None, "value_label": None, "value_total": None}
    assert (
        funnel.json()
        == {
            "columns": [
                {
                    "key": "novo",
                    "label": "Novo contato",
                    "count": 2,
                    "removed": False,
                    "value": None,
                },
                {
                    "key": "negociacao",
                    "label": "negociacao",
                    "count": 1,
                    "removed": True,
                    "value": None,
                },
                {"key": None, "label": None, "count": 1, "removed": False, "value": None},
            ],
            "total": 4,
        }
        | nothing_summed
    )
    narrowed = await client.get("/api/contacts/funnel", params={"q": "Carla"}, headers=headers)
    assert [c["count"] for c in narrowed.json()["columns"]] == [0, 1, 0]
    # A column's contacts: the list with the stage in the filter.
    column = await client.get(
        "/api/contacts",
        params={"filter": '{"field": "stage", "operator": "equals", "value": "novo"}'},
        headers=headers,
    )
    assert {c["id"] for c in column.json()["items"]} == {ids["ana"], ids["bruno"]}
    # Another company's board counts nothing of this one.
    stranger = await login(client, await factory.user(await factory.company(), Role.ADMIN))
    theirs = await client.get("/api/contacts/funnel", headers=stranger)
    assert (
        theirs.json()
        == {
            "columns": [{"key": None, "label": None, "count": 0, "removed": False, "value": None}],
            "total": 0,
        }
        | nothing_summed
    )


async def test_each_stage_is_worth_the_sum_of_a_number_field(
    new_browser: Browser, client: httpx.AsyncClient, db: Database, factory: Factory
) -> None:
    admin, headers, ids = await _shop(client, factory)
    for key, label, kind in (("valor", "Valor do negócio", "number"), ("cidade", "Cidade", "text")):
        made = await client.post(
            "/api/contact-attributes",
            json={"key": key, "label": label, "type": kind},
            headers=headers,
        )
        assert made.status_code == 201, made.text
    for who, worth in (("ana", "1.500,50"), ("bruno", "2000"), ("carla", "10000")):
        changed = await client.patch(
            f"/api/contacts/{ids[who]}", json={"custom_fields": {"valor": worth}}, headers=headers
        )
        assert changed.status_code == 200, changed.text
    # A value of another type left in the document (an old import) is no number: not summed.
    await rows(
        db,
        "update contacts set custom_fields = jsonb_build_object('valor', 'muito')"
        " where id = :id returning id",
        id=uuid.UUID(ids["davi"]),
    )

    summed = await client.get("/api/contacts/funnel", params={"value": "valor"}, headers=headers)
    assert summed.status_code == 200, summed.text
    body = summed.json()
    assert [(c["key"], c["count"], c["value"]) for c in body["columns"]] == [
        ("novo", 2, "3500.5"),
        ("negociacao", 1, "10000"),
        (None, 1, None),
    ]
    assert (body["value_key"], body["value_label"], body["value_total"]) == (
        "valor",
        "Valor do negócio",
        "13500.5",
    )
    for wrong in ("cidade", "nada", "valor'; drop table contacts; --"):
        refused = await client.get("/api/contacts/funnel", params={"value": wrong}, headers=headers)
        assert refused.status_code == 422, refused.text
        assert "numérico" in refused.text

    # The panel: chosen in the board's selector, the sums show under each column and on each
    # card, and the browser remembers the choice for the next visit.
    http = await new_browser()
    csrf = await panel_login(http, admin)
    page = (await http.get("/panel/contacts/funnel")).text
    assert 'id="funnel-value"' in page
    assert "Valor do negócio:" not in page
    board = await http.get("/panel/contacts/funnel", params={"value": "valor"})
    assert re.search(
        r'id="worth-novo" class="funnel-worth">Valor do negócio: <strong>3.500,50<', board.text
    )
    assert '<span class="funnel-value">1.500,50</span>' in board.text
    assert "Valor do negócio: <strong>13.500,50</strong>" in board.text
    remembered = (await http.get("/panel/contacts/funnel")).text
    assert re.search(
        r'id="worth-negociacao" class="funnel-worth">Valor do negócio: <strong>10.000<', remembered
    )
    # A move answers with the columns' new worth, as the board sums it.
    moved = await http.post(
        f"/panel/contacts/{ids['ana']}/stage",
        data={"stage": "negociacao", "q": "", "segment": "", "value": "valor"},
        headers={"X-CSRF-Token": csrf},
    )
    assert moved.status_code == 200, moved.text
    assert re.search(
        r'id="worth-negociacao" class="funnel-worth" hx-swap-oob="true">'
        r"Valor do negócio: <strong>11.500,50<",
        moved.text,
    )
    # In English, numbers read the English way.
    await http.get("/panel/lang/en")
    english = (await http.get("/panel/contacts/funnel")).text
    assert "Valor do negócio: <strong>13,500.50</strong>" in english
    # Sums turned off: none shown, and none remembered.
    off = (await http.get("/panel/contacts/funnel", params={"value": ""})).text
    assert "Valor do negócio:" not in off
    assert "Valor do negócio:" not in (await http.get("/panel/contacts/funnel")).text
