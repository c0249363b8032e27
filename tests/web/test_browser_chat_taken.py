"""In real Chromium: the chat an operator has open is taken by a colleague. The page says so at
once and keeps what the operator was typing, instead of a chat that still offers "Assumir" and
answers the reply with "Conversa não encontrada"."""

from __future__ import annotations

import re

from playwright.async_api import expect

from tests.web.shop import Shop, until_live
from zapcrm.models import Role


async def test_a_chat_taken_by_a_colleague_says_so_and_keeps_the_draft(shop: Shop) -> None:
    page = await shop.panel(Role.OPERATOR)
    colleague = await shop.panel(Role.OPERATOR)
    customer = await shop.open_new_chat(page, "Dona Wanda", "Preciso de ajuda")
    await colleague.goto(page.url)
    await until_live(page)
    await page.locator("#composer-text").fill("Oi, Dona Wanda, posso ajudar")

    await colleague.get_by_role("button", name="Assumir").click()
    await expect(colleague.locator("#chat-header .assignee")).to_have_text("operator teste")

    pane = page.locator(".chat-pane")
    await expect(pane.get_by_role("status")).to_have_text(
        "Esta conversa saiu da sua lista: um colega a assumiu ou ela foi enviada a um setor"
        " que você não atende."
    )
    await expect(pane.locator("#composer")).to_have_count(0)
    await expect(pane.get_by_role("button", name="Assumir")).to_have_count(0)
    await expect(pane.locator("#unsent-draft")).to_have_value("Oi, Dona Wanda, posso ajudar")
    await expect(page.locator(".conv", has_text="Dona Wanda")).to_have_count(0)
    await expect(page).to_have_url(re.compile(r"/panel/inbox\?tab=unassigned&status=open$"))
    # The customer's next words reach the colleague only.
    await customer.writes("Alô?")
    await expect(colleague.locator("#messages")).to_contain_text("Alô?")
    await expect(pane).not_to_contain_text("Alô?")


async def test_a_chat_that_only_leaves_the_list_stays_open_for_its_reader(shop: Shop) -> None:
    """A colleague closing the chat takes it out of "Abertas", not out of the reader's sight:
    the chat stays on screen, closed, with "Reabrir"."""
    page = await shop.panel(Role.OPERATOR)
    boss = await shop.panel(Role.SUPERVISOR)
    await shop.open_new_chat(page, "Seu Wilson", "Já resolvi, obrigado")
    await boss.goto(page.url)
    await until_live(page)
    await boss.get_by_role("button", name="Encerrar").click()
    await expect(page.locator("#chat-header .status")).to_have_text("Encerrada")
    await expect(page.locator(".conv", has_text="Seu Wilson")).to_have_count(0)
    await page.wait_for_timeout(500)
    await expect(page.get_by_role("button", name="Reabrir")).to_be_visible()
    await expect(page.locator("#composer")).to_have_count(1)
