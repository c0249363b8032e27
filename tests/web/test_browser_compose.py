"""Nova conversa in real Chromium: an agent saves a new contact, writes to them from the contact
page, and the message reaches the customer's phone through the simulated gateway."""

from __future__ import annotations

from playwright.async_api import expect

from tests.web.shop import Shop


async def test_an_agent_writes_first_to_a_new_contact(shop: Shop) -> None:
    page = await shop.panel()
    customer = await shop.customer("Seu Jorge")
    await page.goto("/panel/contacts/new")
    await page.fill("#f-name", "Seu Jorge")
    await page.fill("#f-phone", customer.phone[2:])  # as people type it: DDD and number
    await page.get_by_role("button", name="Salvar contato").click()
    await page.get_by_role("link", name="Enviar mensagem").click()
    await expect(page.locator("h1")).to_have_text("Nova conversa")
    await expect(page.locator(".page")).to_contain_text("Seu Jorge")
    text = "Seu Jorge, sua encomenda chegou na loja!"
    await page.fill("#f-text", text)
    await page.get_by_role("button", name="Enviar").click()
    await expect(page.locator("#messages .bubble.out")).to_contain_text(text)
    await expect(page.locator("#chat-header")).to_contain_text("Seu Jorge")
    await customer.until_received(text)
