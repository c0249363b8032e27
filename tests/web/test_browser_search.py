"""Message search in real Chromium: a supervisor types words said long ago in a chat, sees the
message among the hits with the words marked, and opens the chat scrolled to it."""

from __future__ import annotations

from playwright.async_api import expect

from tests.web.conftest import screenshot_path
from tests.web.shop import Shop
from zapcrm.models import Role
from zapcrm.web.pages.inbox.chat import CHAT_PAGE_SIZE


async def test_a_search_finds_an_old_message_and_opens_the_chat_at_it(shop: Shop) -> None:
    page = await shop.panel(Role.SUPERVISOR)
    customer = await shop.customer("Dona Cida")
    await customer.writes("Qual o prazo da nota fiscal da geladeira?")
    later = CHAT_PAGE_SIZE + 5  # more than the chat's first page
    for index in range(later):
        await customer.writes(f"mensagem {index}")
    await page.goto("/panel/inbox?tab=all")
    # All of them stored (they arrive within a second or two, in any order).
    await expect(page.locator(".conv", has_text="Dona Cida").locator(".badge")).to_have_text(
        str(later + 1)
    )
    await page.locator("#q").fill("notas fisc")
    hit = page.locator("#message-hits .hit-row", has_text="geladeira")
    await expect(hit).to_be_visible()
    await expect(hit.locator("mark")).to_have_text(["nota", "fiscal"])
    if path := screenshot_path("message-search"):
        await page.screenshot(path=path)
    await hit.locator("a").click()
    found = page.locator("#messages .bubble.hit")
    await expect(found).to_contain_text("Qual o prazo da nota fiscal da geladeira?")
    await expect(found).to_be_in_viewport()
    # The reload when the live stream opens keeps the message on the page, and marked.
    await page.wait_for_timeout(1000)
    await expect(found).to_be_in_viewport()
