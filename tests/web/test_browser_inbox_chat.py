"""The inbox and its chat in real Chromium, as an operator uses them: a chat passed to a
colleague, a search kept while customers write, the chat on screen never counted unread, the
way back to the list the operator came from, a quiet console, and a header that fits a phone."""

from __future__ import annotations

import asyncio
import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import httpx
from playwright.async_api import ConsoleMessage, Locator, Page, Route, expect

from tests.conftest import login
from tests.web.shop import Shop, until_live
from zapcrm.models import Role
from zapcrm.web.pages.inbox.chat import CHAT_PAGE_SIZE


def console_errors(page: Page) -> list[str]:
    """The page's console errors from now on (htmx logs a swap it cannot do as one)."""
    errors: list[str] = []

    def keep(message: ConsoleMessage) -> None:
        if message.type == "error":
            errors.append(message.text)

    page.on("console", keep)
    return errors


async def with_departments_and_colleagues(shop: Shop, client: httpx.AsyncClient) -> None:
    """A company set up as the QA pass saw it: departments (the header's "Enviar ao setor",
    in its "Transferir" menu) and colleagues to transfer to."""
    boss = await login(client, await shop.user(Role.ADMIN))
    await shop.user(Role.SUPERVISOR)
    for name in ("Vendas", "Financeiro"):
        created = await client.post("/api/departments", json={"name": name}, headers=boss)
        assert created.status_code == 201, created.text


def transfer_menu(page: Page) -> Locator:
    """The chat header's "Transferir" menu button (to a colleague or to a department)."""
    return page.locator("#chat-header summary", has_text="Transferir")


async def test_a_chat_transferred_to_a_colleague_turns_read_only_and_keeps_the_draft(
    shop: Shop,
) -> None:
    await shop.user(Role.SUPERVISOR)  # "supervisor teste", in the transfer menu
    page = await shop.panel(Role.OPERATOR)
    await shop.open_new_chat(page, "Dona Zélia", "Quero trocar o tamanho")
    await page.get_by_role("button", name="Assumir").click()
    await expect(page.locator("#chat-header .assignee")).to_have_text("operator teste")
    await page.locator("#composer-text").fill("Claro, qual tamanho a senhora")
    await transfer_menu(page).click()
    await page.get_by_label("Transferir para").select_option(label="supervisor teste")
    await page.locator("#transfer-form").get_by_role("button", name="Transferir").click()

    pane = page.locator(".chat-pane")
    await expect(pane.get_by_role("status")).to_contain_text("Transferida para supervisor teste")
    # Nothing left that could only fail now the chat is out of the operator's sight.
    await expect(pane.locator("#composer")).to_have_count(0)
    await expect(pane.get_by_role("button", name="Assumir")).to_have_count(0)
    # What was typed and not sent is still there to copy, and the focus stays in the pane.
    await expect(pane.locator("#unsent-draft")).to_have_value("Claro, qual tamanho a senhora")
    await expect(pane.get_by_role("link", name="Voltar às conversas")).to_be_focused()
    # The list it came from, "Não atribuídas", not the default one.
    await expect(page).to_have_url(re.compile(r"/panel/inbox\?tab=unassigned&status=open$"))


async def test_a_colleague_chosen_to_transfer_to_stays_chosen_through_a_live_update(
    shop: Shop,
) -> None:
    """The customer writes between the choice and the press of "Transferir": the header's
    live copy must not put the select back on the operator (the transfer then went nowhere)."""
    await shop.user(Role.SUPERVISOR)
    page = await shop.panel(Role.OPERATOR)
    customer = await shop.open_new_chat(page, "Seu Anselmo", "Vocês abrem sábado?")
    await page.get_by_role("button", name="Assumir").click()
    await expect(page.locator("#chat-header .assignee")).to_have_text("operator teste")
    await transfer_menu(page).click()
    assignee = page.get_by_label("Transferir para")
    await assignee.select_option(label="supervisor teste")
    version = await page.locator("#chat-header").get_attribute("data-version")
    await customer.writes("E domingo?")
    await expect(page.locator(".chat-pane article").last).to_contain_text("E domingo?")
    await expect(page.locator("#chat-header")).not_to_have_attribute("data-version", version or "")
    await expect(assignee.locator("option:checked")).to_have_text("supervisor teste")
    # The menu it was chosen in stays open through the update, its button at hand.
    await page.locator("#transfer-form").get_by_role("button", name="Transferir").click()
    await expect(page.locator(".chat-pane").get_by_role("status")).to_contain_text(
        "Transferida para supervisor teste"
    )


async def test_an_actions_late_answer_does_not_replace_the_header_its_live_copy_drew(
    shop: Shop,
) -> None:
    """Under load the live copy of "Assumir" lands before the request's own answer: the
    answer, no newer, must not swap the header again (a click on it then went nowhere)."""
    page = await shop.panel(Role.OPERATOR)
    await shop.open_new_chat(page, "Seu Geraldo", "Tem troco para 100?")
    answered = asyncio.Event()

    async def slow_answer(route: Route) -> None:
        response = await route.fetch()
        await asyncio.sleep(1.5)  # the live copy arrives meanwhile
        await route.fulfill(response=response)
        answered.set()

    await page.route(re.compile(r"/panel/conversations/[0-9a-f-]+/assign$"), slow_answer)
    await page.get_by_role("button", name="Assumir").click()
    await expect(page.get_by_role("button", name="Assumir")).to_have_count(0)  # live
    assert not answered.is_set()
    close = await page.get_by_role("button", name="Encerrar").element_handle()
    await asyncio.wait_for(answered.wait(), 10)
    await page.wait_for_timeout(300)  # htmx handles the answer
    assert await close.evaluate("element => element.isConnected")
    await expect(page.locator("#chat-header .assignee")).to_have_text("operator teste")


async def test_the_back_arrow_returns_to_the_list_the_operator_came_from(shop: Shop) -> None:
    page = await shop.panel(Role.OPERATOR, viewport=(390, 844))  # where the arrow shows
    await shop.open_new_chat(page, "Seu Osvaldo", "Tem entrega hoje?")
    back = page.get_by_role("link", name="Voltar para a lista")
    await expect(back).to_have_attribute("href", "/panel/inbox?tab=unassigned&status=open")
    # A header drawn again by an action keeps it (and so does its live copy).
    await page.locator("details.snooze summary").click()
    await page.locator(".snooze-menu").get_by_role("button", name="Amanhã às 09:00").click()
    await expect(page.locator("#chat-header .status")).to_contain_text("Adiada até")
    await expect(back).to_have_attribute("href", "/panel/inbox?tab=unassigned&status=open")
    await back.click()
    await expect(page.get_by_role("link", name="Não atribuídas")).to_have_attribute(
        "aria-current", "page"
    )


async def test_a_search_keeps_rows_of_other_chats_out_while_customers_write(shop: Shop) -> None:
    page = await shop.panel(Role.OPERATOR)
    errors = console_errors(page)
    first = await shop.customer("Dona Cida")
    await first.writes("Bom dia")
    await page.goto("/panel/inbox?tab=unassigned")
    await expect(page.locator(".conv", has_text="Dona Cida")).to_be_visible()
    await until_live(page)
    await page.locator("#q").fill("zzqxw")
    await expect(page.locator("#conversation-list-empty")).to_have_text(
        "Nenhuma conversa encontrada."
    )
    await expect(page.locator(".conv")).to_have_count(0)
    await page.wait_for_timeout(300)  # the stream opens again with the search
    await until_live(page)
    await first.writes("Alguém aí?")
    other = await shop.customer("Seu Raul")
    await other.writes("Oi")
    # A chat the search finds (accents and case aside) still arrives live.
    found = await shop.customer("Zé Zzqxw")
    await found.writes("Olá")
    await expect(page.locator(".conv", has_text="Zé Zzqxw")).to_be_visible()
    await page.wait_for_timeout(500)
    await expect(page.locator(".conv")).to_have_count(1)
    assert errors == []


async def test_the_chat_on_screen_shows_no_unread_count_and_the_console_stays_quiet(
    shop: Shop,
) -> None:
    page = await shop.panel(Role.OPERATOR)
    errors = console_errors(page)
    customer = await shop.open_new_chat(page, "Dona Neide", "Oi, tudo bem?")
    await page.get_by_role("button", name="Assumir").click()
    await expect(page.locator("#chat-header .assignee")).to_have_text("operator teste")
    # Beside the chat, "Minhas": the chat's own row is in that list.
    await page.goto(page.url.split("?")[0] + "?tab=mine")
    row = page.locator(".conv.current")
    await expect(row).to_contain_text("Dona Neide")
    await until_live(page)
    # Someone else's new chat (not in "Minhas") changes live too: nothing to swap, no error.
    stranger = await shop.customer("Seu Bento")
    await stranger.writes("Bom dia")
    await customer.writes("Vocês abrem amanhã?")
    await expect(page.locator("#messages")).to_contain_text("Vocês abrem amanhã?")
    await expect(row).to_contain_text("Vocês abrem amanhã?")
    await page.wait_for_timeout(1000)
    await expect(row.locator(".badge")).to_have_count(0)
    assert errors == []


async def test_on_a_phone_the_chat_header_is_compact_and_the_snooze_menu_fits(
    shop: Shop, client: httpx.AsyncClient
) -> None:
    await with_departments_and_colleagues(shop, client)
    page = await shop.panel(Role.OPERATOR, viewport=(390, 844))
    await shop.open_new_chat(page, "Dona Socorro", "Boa tarde")
    header = await page.locator("#chat-header").bounding_box()
    assert header is not None
    assert header["height"] < 844 / 5, header
    # The transfer menu opens across the screen, its two choices within it.
    await transfer_menu(page).click()
    transfer = await page.locator(".transfer-menu .menu-panel").bounding_box()
    assert transfer is not None
    assert transfer["x"] >= 0, transfer
    assert transfer["x"] + transfer["width"] <= 390, transfer
    assert transfer["y"] + transfer["height"] <= 844, transfer
    await expect(page.get_by_label("Enviar para o setor")).to_be_in_viewport()
    await page.locator("details.snooze summary").click()
    menu = page.locator(".snooze-menu")
    await expect(menu).to_be_visible()
    box = await menu.bounding_box()
    assert box is not None
    assert box["x"] >= 0, box
    assert box["x"] + box["width"] <= 390, box
    assert box["y"] + box["height"] <= 844, box
    # The custom moment, at the menu's end, is reachable too.
    day = datetime.now(ZoneInfo("America/Sao_Paulo")) + timedelta(days=3)
    await menu.locator("input[type=datetime-local]").fill(day.strftime("%Y-%m-%dT09:30"))
    await menu.get_by_role("button", name="Adiar").click()
    await expect(page.locator("#chat-header .status")).to_have_text(
        day.strftime("⏰ Adiada até %d/%m/%Y 09:30")
    )


async def test_on_a_laptop_the_chat_header_actions_fit_one_line_with_departments(
    shop: Shop, client: httpx.AsyncClient
) -> None:
    """With departments, transferring to a colleague and sending to a department share one
    "Transferir" menu: "Encerrar" stays on the line of the other actions at 1280 px, and the
    menu is used from the keyboard."""
    await with_departments_and_colleagues(shop, client)
    page = await shop.panel(Role.OPERATOR)
    await shop.open_new_chat(page, "Dona Filomena", "Bom dia")
    actions = page.locator("#chat-header .actions")
    first = await actions.locator(":scope > *").first.bounding_box()
    close = await actions.get_by_role("button", name="Encerrar").bounding_box()
    assert first is not None
    assert close is not None
    assert abs(close["y"] - first["y"]) < 4, (first, close)
    # Enter opens the menu, its choices are labelled, Escape closes it again.
    menu = transfer_menu(page)
    await menu.focus()
    await page.keyboard.press("Enter")
    department = page.get_by_label("Enviar para o setor")
    await expect(department).to_be_visible()
    await expect(page.get_by_label("Transferir para")).to_be_visible()
    await page.keyboard.press("Tab")
    await expect(page.get_by_label("Transferir para")).to_be_focused()
    await page.keyboard.press("Escape")
    await expect(department).to_be_hidden()
    await expect(menu).to_be_focused()


async def test_a_live_change_to_a_message_not_loaded_in_the_chat_is_dropped_quietly(
    shop: Shop,
) -> None:
    """An edit of a message older than the chat's loaded page has no bubble to land on: the
    console stays quiet, and a change to a bubble on the page still shows."""
    page = await shop.panel(Role.OPERATOR)
    errors = console_errors(page)
    customer = await shop.customer("Seu Tadeu")
    key_ids: list[str] = []
    for n in range(CHAT_PAGE_SIZE + 1):
        sent = await customer.sim.post(
            f"/_sim/instances/{customer.instance}/inbound",
            json={"from": customer.phone, "type": "text", "text": f"mensagem {n}"},
        )
        assert sent.status_code == 201, sent.text
        key_ids.append(sent.json()["data"]["key"]["id"])
    await page.goto("/panel/inbox?tab=unassigned")
    await page.locator(".conv", has_text="Seu Tadeu").locator("a").click()
    bubbles = page.locator("#messages > .bubble")
    async with asyncio.timeout(15):  # until every message is stored: one page and the loader
        while await bubbles.count() < CHAT_PAGE_SIZE or not await page.locator("#older").count():
            await page.wait_for_timeout(300)
            await page.reload()
    # Sent within a second or two, the messages are ordered by their ids: which one is left
    # out of the page is read from the page.
    shown = set(await page.locator("#messages .bubble .body").all_inner_texts())
    left_out = [n for n in range(len(key_ids)) if f"mensagem {n}" not in shown]
    assert len(left_out) == 1, shown
    old, loaded = left_out[0], (left_out[0] + 1) % len(key_ids)
    await until_live(page)

    await customer.edits(key_ids[old], "antiga, corrigida")
    await customer.edits(key_ids[loaded], "recente, corrigida")
    await expect(page.locator("#messages")).to_contain_text("recente, corrigida")
    await page.wait_for_timeout(500)
    await expect(page.locator("#messages")).not_to_contain_text("antiga, corrigida")
    assert errors == []
