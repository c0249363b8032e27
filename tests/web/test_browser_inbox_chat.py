"""The inbox and its chat in real Chromium, as an operator uses them: a chat passed to a
colleague, a search kept while customers write, the chat on screen never counted unread, the
way back to the list the operator came from, a quiet console, and a header that fits a phone."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import httpx
from playwright.async_api import ConsoleMessage, Page, expect

from tests.conftest import login
from tests.web.shop import Shop, until_live
from zapcrm.models import Role


def console_errors(page: Page) -> list[str]:
    """The page's console errors from now on (htmx logs a swap it cannot do as one)."""
    errors: list[str] = []

    def keep(message: ConsoleMessage) -> None:
        if message.type == "error":
            errors.append(message.text)

    page.on("console", keep)
    return errors


async def with_departments_and_colleagues(shop: Shop, client: httpx.AsyncClient) -> None:
    """A company set up as the QA pass saw it: departments (the header's "Enviar ao setor")
    and colleagues to transfer to."""
    boss = await login(client, await shop.user(Role.ADMIN))
    await shop.user(Role.SUPERVISOR)
    for name in ("Vendas", "Financeiro"):
        created = await client.post("/api/departments", json={"name": name}, headers=boss)
        assert created.status_code == 201, created.text


async def test_a_chat_transferred_to_a_colleague_turns_read_only_and_keeps_the_draft(
    shop: Shop,
) -> None:
    await shop.user(Role.SUPERVISOR)  # "supervisor teste", in the transfer menu
    page = await shop.panel(Role.OPERATOR)
    await shop.open_new_chat(page, "Dona Zélia", "Quero trocar o tamanho")
    await page.get_by_role("button", name="Assumir").click()
    await expect(page.locator("#chat-header .assignee")).to_have_text("operator teste")
    await page.locator("#composer-text").fill("Claro, qual tamanho a senhora")
    await page.locator("#chat-header select[name=assignee]").select_option(label="supervisor teste")
    await page.locator("#chat-header").get_by_role("button", name="Transferir").click()

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
    assignee = page.locator("#chat-header select[name=assignee]")
    await assignee.select_option(label="supervisor teste")
    version = await page.locator("#chat-header").get_attribute("data-version")
    await customer.writes("E domingo?")
    await expect(page.locator(".chat-pane article").last).to_contain_text("E domingo?")
    await expect(page.locator("#chat-header")).not_to_have_attribute("data-version", version or "")
    await expect(assignee.locator("option:checked")).to_have_text("supervisor teste")
    await page.locator("#chat-header").get_by_role("button", name="Transferir").click()
    await expect(page.locator(".chat-pane").get_by_role("status")).to_contain_text(
        "Transferida para supervisor teste"
    )


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
