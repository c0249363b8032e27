"""Snooze in real Chromium: an agent snoozes a chat from its header's menu until tomorrow
morning, the header says so, the chat is in Pendentes, and the customer writing brings it back
to Abertas live."""

from __future__ import annotations

import re

from playwright.async_api import expect

from tests.web.conftest import screenshot_path
from tests.web.shop import Shop


async def test_an_agent_snoozes_a_chat_and_the_customer_wakes_it(shop: Shop) -> None:
    page = await shop.panel()
    customer = await shop.open_new_chat(page, "Seu Mário", "O pedido 123 já saiu?")
    await page.get_by_role("button", name="Assumir").click()
    await expect(page.locator("#chat-header .assignee")).to_have_text("operator teste")
    await page.wait_for_timeout(300)  # let the live stream open
    await page.locator("details.snooze summary").click()
    menu = page.locator(".snooze-menu")
    await expect(menu).to_be_visible()
    # The customer writes while the menu is open: the header re-renders live, the menu stays.
    await customer.writes("Ah, e o boleto?")
    await expect(page.locator("#messages")).to_contain_text("Ah, e o boleto?")
    await page.wait_for_timeout(500)
    await expect(menu).to_be_visible()
    if path := screenshot_path("snooze"):
        await page.screenshot(path=path)
    await menu.get_by_role("button", name="Amanhã às 09:00").click()
    status = page.locator("#chat-header .status")
    await expect(status).to_have_text(re.compile(r"^⏰ Adiada até \d\d/\d\d/\d{4} 09:00$"))
    await page.goto("/panel/inbox?tab=mine&status=pending")
    snoozed_row = page.locator("#conversation-list .conv", has_text="Seu Mário")
    await expect(snoozed_row.locator(".conv-snoozed")).to_have_text(
        re.compile(r"^⏰ até \d\d/\d\d/\d{4} 09:00$")
    )
    await page.locator(".conv", has_text="Seu Mário").locator("a").click()
    await expect(page.locator("#messages")).to_contain_text("O pedido 123 já saiu?")
    await page.wait_for_timeout(300)  # let the live stream open
    await customer.writes("Alguma novidade?")
    await expect(page.locator("#messages")).to_contain_text("Alguma novidade?")
    await expect(status).to_have_text("Aberta")
