"""The funnel board in real Chromium: a card dragged to another column moves the contact to that
stage (card, counts and the stored stage agree), and the card's own selector does the same
without a mouse; what colleagues do elsewhere reaches an open board live."""

from __future__ import annotations

import re
import uuid
from typing import Any

import httpx
from playwright.async_api import Dialog, expect

from tests.conftest import login
from tests.evolution.harness import rows
from tests.web.conftest import screenshot_path
from tests.web.shop import Shop, until_live
from zapcrm.db import Database
from zapcrm.models import Role
from zapcrm.web.pages.funnel import CARDS_PER_PAGE


async def _contact(client: httpx.AsyncClient, headers: dict[str, str], **fields: Any) -> str:
    response = await client.post("/api/contacts", json=fields, headers=headers)
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


# Notes whether the card with this id is ever on the page twice (a later live update of the same
# contact would remove the copy again, hiding it from a check made afterwards).
TWICE_WATCH = """id => {
  window.seenTwice = false;
  new MutationObserver(() => {
    if (document.querySelectorAll(`[id="${id}"]`).length > 1) window.seenTwice = true;
  }).observe(document.body, { childList: true, subtree: true });
}"""


async def _stages(client: httpx.AsyncClient, headers: dict[str, str]) -> None:
    for position, (key, label) in enumerate(
        (("novo", "Novo contato"), ("proposta", "Proposta enviada"), ("cliente", "Cliente"))
    ):
        created = await client.post(
            "/api/funnel-stages",
            json={"key": key, "label": label, "position": position},
            headers=headers,
        )
        assert created.status_code == 201, created.text


async def test_a_card_dragged_to_another_column_changes_the_contacts_stage(
    shop: Shop, client: httpx.AsyncClient, db: Database
) -> None:
    admin = await shop.user(Role.ADMIN)
    headers = await login(client, admin)
    await _stages(client, headers)
    made = await client.post(
        "/api/contact-attributes",
        json={"key": "valor", "label": "Valor (R$)", "type": "number"},
        headers=headers,
    )
    assert made.status_code == 201, made.text
    ana = await _contact(
        client, headers, name="Ana Souza", phone="11987650201", funnel_stage="novo", tags=["vip"],
        custom_fields={"valor": "1.250,90"},
    )  # fmt: skip
    await _contact(
        client, headers, name="Bruno Lima", phone="11987650202", funnel_stage="novo",
        custom_fields={"valor": 800},
    )  # fmt: skip
    davi = await _contact(client, headers, name="Davi Rocha", phone="11987650203")

    page = await shop.panel(user=admin)
    await page.goto("/panel/contacts/funnel")
    await expect(page.locator("#count-novo")).to_have_text("2")
    # What each stage is worth: chosen in the board's selector.
    await page.locator("#funnel-value").select_option("valor")
    await expect(page.locator("#worth-novo")).to_have_text("Valor (R$): 2.050,90")
    await page.locator(f"#card-{ana} .funnel-name").drag_to(
        page.locator(".funnel-column[data-stage='proposta']")
    )
    await expect(page.locator(f"#cards-proposta #card-{ana}")).to_be_visible()
    await expect(page.locator(f"#card-{ana}")).to_have_count(1)
    # On a card, whose attribute name is not beside it, an amount in reais says so.
    await expect(page.locator(f"#card-{ana} .funnel-value")).to_have_text(
        re.compile(r"^R\$\s1\.250,90$")
    )
    await expect(page.locator("#count-novo")).to_have_text("1")
    await expect(page.locator("#count-proposta")).to_have_text("1")
    await expect(page.locator("#worth-novo")).to_have_text("Valor (R$): 800")
    await expect(page.locator("#worth-proposta")).to_have_text("Valor (R$): 1.250,90")

    # Without a mouse: the card's selector.
    await page.locator(f"#card-{davi} select").select_option("cliente")
    await expect(page.locator(f"#cards-cliente #card-{davi}")).to_be_visible()
    await expect(page.locator("#count-_none")).to_have_text("0")
    if path := screenshot_path("funnel"):
        await page.screenshot(path=path, full_page=True)

    stored = await rows(
        db,
        "select id, funnel_stage from contacts where id = any(:ids)",
        ids=[uuid.UUID(ana), uuid.UUID(davi)],
    )
    assert {str(row["id"]): row["funnel_stage"] for row in stored} == {
        ana: "proposta",
        davi: "cliente",
    }
    # The board read again agrees with what the moves showed.
    await page.reload()
    await expect(page.locator(f"#cards-proposta #card-{ana}")).to_be_visible()
    await expect(page.locator("#count-cliente")).to_have_text("1")


async def test_an_open_board_follows_what_colleagues_do_elsewhere(
    shop: Shop, client: httpx.AsyncClient, db: Database
) -> None:
    admin = await shop.user(Role.ADMIN)
    headers = await login(client, admin)
    await _stages(client, headers)
    ana = await _contact(
        client, headers, name="Ana Souza", phone="11987650211", funnel_stage="novo"
    )
    bruno = await _contact(
        client, headers, name="Bruno Lima", phone="11987650212", funnel_stage="novo"
    )
    colleague = await login(client, await shop.user(Role.SUPERVISOR))

    page = await shop.panel(user=admin)
    await page.goto("/panel/contacts/funnel")
    await until_live(page)
    await expect(page.locator("#count-novo")).to_have_text("2")
    reads: list[str] = []
    page.on(
        "request",
        lambda request: reads.append(request.url) if "/funnel/live" in request.url else None,
    )

    # A colleague moves Ana on her page (the API here), then creates Carla in "cliente".
    moved = await client.patch(
        f"/api/contacts/{ana}", json={"funnel_stage": "proposta"}, headers=colleague
    )
    assert moved.status_code == 200, moved.text
    carla = await _contact(
        client, colleague, name="Carla <b>Dias</b>", phone="11987650213", funnel_stage="cliente"
    )
    await expect(page.locator(f"#cards-proposta #card-{ana}")).to_be_visible()
    await expect(page.locator(f"#card-{ana}")).to_have_count(1)
    await expect(page.locator(f"#cards-cliente #card-{carla} .funnel-name")).to_have_text(
        "Carla <b>Dias</b>"
    )
    await expect(page.locator("#count-novo")).to_have_text("1")
    await expect(page.locator("#count-proposta")).to_have_text("1")
    await expect(page.locator("#funnel-total")).to_have_text("3 contato(s)")
    # Two changes, read in one or two requests, and then no more (the answers' own swaps must
    # not ask again: they once did, every half second for as long as the board was open).
    await page.wait_for_timeout(1500)
    assert 1 <= len(reads) <= 2, reads
    # Someone new writes on WhatsApp: the lead shows up on the board, still without a stage.
    lead = await shop.customer("Elisa Nova")
    await lead.writes("oi, quero um orçamento")
    await expect(page.locator("#cards-_none .funnel-card", has_text="Elisa Nova")).to_be_visible()
    await expect(page.locator("#funnel-total")).to_have_text("4 contato(s)")

    # Bruno deleted: his card goes. A board narrowed by a search does not gain others' cards.
    deleted = await client.delete(f"/api/contacts/{bruno}", headers=colleague)
    assert deleted.status_code == 204, deleted.text
    await expect(page.locator(f"#card-{bruno}")).to_have_count(0)
    await expect(page.locator("#count-novo")).to_have_text("0")
    # A list moved at once (the contact list's bulk action): the board reads itself again.
    bulk = await client.post(
        "/api/contacts/bulk-stage", json={"stage": "cliente", "q": "Ana Souza"}, headers=colleague
    )
    assert bulk.json() == {"affected": 1}
    await expect(page.locator(f"#cards-cliente #card-{ana}")).to_be_visible()
    await expect(page.locator("#count-proposta")).to_have_text("0")
    await page.goto("/panel/contacts/funnel?q=Carla")
    await until_live(page)
    await expect(page.locator("#funnel-total")).to_have_text("1 contato(s)")
    dani = await _contact(
        client, colleague, name="Daniela Reis", phone="11987650214", funnel_stage="cliente"
    )
    renamed = await client.patch(
        f"/api/contacts/{carla}", json={"funnel_stage": "novo"}, headers=colleague
    )
    assert renamed.status_code == 200
    await expect(page.locator(f"#cards-novo #card-{carla}")).to_be_visible()
    await expect(page.locator(f"#card-{dani}")).to_have_count(0)
    await expect(page.locator("#funnel-total")).to_have_text("1 contato(s)")
    await expect(page.locator("#count-cliente")).to_have_text("0")

    # What no event told (a change while the stream was away): a (re)opened stream reads the
    # board again, in place.
    await rows(
        db,
        "update contacts set funnel_stage = 'cliente' where id = :id returning id",
        id=uuid.UUID(carla),
    )
    card = await page.locator(f"#card-{carla}").element_handle()
    await page.evaluate("document.dispatchEvent(new CustomEvent('htmx:sseOpen', {detail: {}}))")
    await expect(page.locator(f"#cards-cliente #card-{carla}")).to_be_visible()
    await expect(page.locator("#count-novo")).to_have_text("0")
    await expect(page.locator(".funnel")).to_have_count(1)
    # Morphed: the card is the same element, moved (a drag in progress would survive).
    assert await card.evaluate("element => element.isConnected")


async def test_a_card_brought_to_the_top_is_not_shown_again_by_its_columns_next_page(
    shop: Shop, client: httpx.AsyncClient
) -> None:
    admin = await shop.user(Role.ADMIN)
    headers = await login(client, admin)
    await _stages(client, headers)
    people = [
        await _contact(
            client, headers, name=f"Lead {n:02d}", phone=f"1198811{n:04d}", funnel_stage="novo"
        )
        for n in range(CARDS_PER_PAGE + 3)
    ]
    page = await shop.panel(user=admin)
    await page.goto("/panel/contacts/funnel")
    await until_live(page)
    cards = page.locator("#cards-novo .funnel-card")
    await expect(cards).to_have_count(CARDS_PER_PAGE)
    shown = set(await cards.evaluate_all("cards => cards.map(card => card.id.slice(5))"))
    later = next(person for person in people if person not in shown)

    # A colleague renames someone of the column's next page: the card comes to the top...
    renamed = await client.patch(
        f"/api/contacts/{later}", json={"name": "Lead renomeado"}, headers=headers
    )
    assert renamed.status_code == 200, renamed.text
    await expect(cards.first).to_have_text(re.compile("Lead renomeado"))
    # ...and the next page, which still has it, does not show it twice, not even for a moment.
    await page.evaluate(TWICE_WATCH, f"card-{later}")
    await page.locator("#cards-novo .funnel-more button").click()
    await expect(page.locator("#cards-novo .funnel-more")).to_have_count(0)
    await expect(cards).to_have_count(CARDS_PER_PAGE + 3)
    assert not await page.evaluate("window.seenTwice")


async def test_the_contact_list_moves_to_a_stage_at_once_after_a_confirmation(
    shop: Shop, client: httpx.AsyncClient
) -> None:
    admin = await shop.user(Role.ADMIN)
    headers = await login(client, admin)
    await _stages(client, headers)
    for n in range(3):
        await _contact(client, headers, name=f"Feira {n}", phone=f"1198822{n:04d}", tags=["feira"])
    await _contact(client, headers, name="Outra Pessoa", phone="11988229999")
    page = await shop.panel(user=admin)
    await page.goto("/panel/contacts?q=feira")
    asked: list[str] = []

    async def confirm(dialog: Dialog) -> None:
        asked.append(dialog.message)
        await dialog.accept()

    page.on("dialog", confirm)
    await page.locator("#bulk-stage").select_option("proposta")
    await page.get_by_role("button", name="Mover todos para a etapa").click()
    await expect(page.locator("#toast")).to_contain_text("3 contato(s) mudou de etapa.")
    assert asked == ["Mover os 3 contato(s) desta lista para a etapa escolhida?"]
    # The rows read themselves again: each names its new stage.
    await expect(page.locator("#contact-rows td", has_text="Proposta enviada")).to_have_count(3)
