"""Lists that load their next page when scrolled to their end, in real Chromium: the contact list
(in the page's own scrolling box) and the message search under the inbox (in its own box).
htmx's `revealed` only watches the window, which never scrolls in the panel: both stopped at
their first page."""

from __future__ import annotations

import asyncio

import httpx
from playwright.async_api import expect

from tests.conftest import login
from tests.evolution.harness import rows
from tests.web.shop import Shop
from zapcrm.db import Database
from zapcrm.models import Role
from zapcrm.web.pages.contacts import PAGE_SIZE
from zapcrm.web.pages.search import HITS_PAGE_SIZE


async def test_the_contact_list_loads_its_next_page_at_its_end(
    shop: Shop, client: httpx.AsyncClient
) -> None:
    admin = await shop.user(Role.ADMIN)
    headers = await login(client, admin)
    total = PAGE_SIZE + 5
    for n in range(total):
        created = await client.post(
            "/api/contacts",
            json={"name": f"Cliente {n:03d}", "phone": f"1198700{n:04d}"},
            headers=headers,
        )
        assert created.status_code == 201, created.text
    page = await shop.panel(user=admin)
    await page.goto("/panel/contacts")
    listed = page.locator("#contact-rows tr:not(.more)")
    await expect(listed).to_have_count(PAGE_SIZE)
    await page.locator("#contact-rows tr.more").scroll_into_view_if_needed()
    await expect(listed).to_have_count(total)


async def test_the_message_search_loads_its_next_page_at_its_end(
    shop: Shop, client: httpx.AsyncClient, db: Database
) -> None:
    [instance] = await rows(
        db, "select id from evolution_instances where company_id = :c", c=shop.company_id
    )
    total = HITS_PAGE_SIZE + 4
    customer = await shop.customer("Dona Zilda")
    for n in range(total):
        await customer.writes(f"pedido de bolo número {n}")
    await expect_stored(db, instance["id"], total)
    page = await shop.panel(Role.SUPERVISOR)
    await page.goto("/panel/inbox?tab=all&q=bolo")
    hits = page.locator("#message-hits .hit-row")
    await expect(hits).to_have_count(HITS_PAGE_SIZE)
    # The results box may be drawn again meanwhile (the stream's opening reloads what the page
    # shows): scroll whichever box is there to its end until the next page has come.
    for _ in range(50):
        await page.locator("#message-hits").evaluate("box => { box.scrollTop = box.scrollHeight }")
        if await hits.count() == total:
            break
        await asyncio.sleep(0.2)
    await expect(hits).to_have_count(total)


async def expect_stored(db: Database, instance_id: object, count: int) -> None:
    """Wait until the simulator's webhooks have all landed."""
    for _ in range(100):
        [found] = await rows(
            db,
            "select count(*) as n from evolution_messages where instance_id = :i",
            i=instance_id,
        )
        if found["n"] >= count:
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"only {found['n']} of {count} messages stored")
