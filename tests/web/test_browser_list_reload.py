"""The inbox list's reload in real Chromium: it morphs the rows on the page into its answer's,
so the elements a reader points at stay (the stream's opening reloads the list about a second
after every page load, and a click pressed before that swap and released after it must open
the chat), a row the answer changed is updated in place, a row changed live meanwhile keeps
its element and its live state, and the list still loads its next page afterwards."""

from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

import httpx
from playwright.async_api import Browser as PlaywrightBrowser
from playwright.async_api import Page, Route, expect

from tests.conftest import Factory
from tests.web.conftest import customer_writes, new_company_chat
from tests.web.shop import open_panel
from zapcrm.db import Database
from zapcrm.models import Role
from zapcrm.web.pages.inbox.listing import LIST_SIZE

COUNT_LIST_RELOADS = """document.addEventListener("htmx:afterSwap", event => {
    if (event.detail.target.id === "conversation-list") window.listReloads =
        (window.listReloads || 0) + 1;
});"""


async def _inbox_once_reloaded(page: Page) -> None:
    """The inbox, after the reload of its list that the opening of its live stream starts."""
    await page.add_init_script(COUNT_LIST_RELOADS)
    await page.goto("/panel/inbox?tab=all")
    await page.wait_for_function("() => window.listReloads >= 1")


@asynccontextmanager
async def _held_reload(
    page: Page, edit: Callable[[str], str] = lambda body: body
) -> AsyncIterator[asyncio.Event]:
    """Reload the list (as the stream's opening does) and hold its answer, read from the
    server but changed by `edit`, until the block sets the event it was given; then wait
    for the swap."""
    refresh = str(await page.get_attribute("#conversation-list", "data-refresh-url"))
    answered, release = asyncio.Event(), asyncio.Event()

    async def held(route: Route) -> None:
        response = await route.fetch()
        body = edit(await response.text())
        answered.set()
        await release.wait()
        await route.fulfill(response=response, body=body)

    await page.route(lambda url: url.endswith(refresh), held)
    reloads = await page.evaluate("() => window.listReloads")
    await page.evaluate("() => htmx.trigger(document.body, 'htmx:sseOpen')")
    async with asyncio.timeout(10):
        await answered.wait()
    yield release
    release.set()
    await page.wait_for_function("n => window.listReloads > n", arg=reloads)


async def _two_chats(
    client: httpx.AsyncClient, db: Database, factory: Factory
) -> tuple[uuid.UUID, uuid.UUID, uuid.UUID]:
    """A company with two customers' chats; returns it and the chats (the older first)."""
    chat = await new_company_chat(client, db, factory, text_body="Primeira conversa")
    second = await customer_writes(
        client, db, chat.instance, text_body="Segunda conversa", phone="5511987650002"
    )
    return chat.instance.company_id, chat.conversation_id, second


async def test_a_click_pressed_before_the_list_reload_and_released_after_it_opens_the_chat(
    chromium: PlaywrightBrowser,
    live_server: str,
    client: httpx.AsyncClient,
    db: Database,
    factory: Factory,
) -> None:
    company_id, first, _ = await _two_chats(client, db, factory)
    page = await open_panel(chromium, live_server, await factory.user(company_id, Role.SUPERVISOR))
    try:
        await _inbox_once_reloaded(page)
        link = await page.locator(f"#conv-{first} a").element_handle()
        box = await link.bounding_box()
        assert box
        async with _held_reload(page) as release:
            await page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
            await page.mouse.down()
            release.set()
        assert await link.evaluate("e => e.isConnected")
        await page.mouse.up()
        await expect(page).to_have_url(re.compile(f"/panel/inbox/{first}"))
    finally:
        await page.context.close()


async def test_a_row_the_reload_brings_changed_is_updated_in_place(
    chromium: PlaywrightBrowser,
    live_server: str,
    client: httpx.AsyncClient,
    db: Database,
    factory: Factory,
) -> None:
    company_id, first, second = await _two_chats(client, db, factory)
    page = await open_panel(chromium, live_server, await factory.user(company_id, Role.SUPERVISOR))
    try:
        await _inbox_once_reloaded(page)
        links = {c: await page.locator(f"#conv-{c} a").element_handle() for c in (first, second)}
        async with _held_reload(page, lambda body: body.replace("Segunda", "Outra")):
            pass
        await expect(page.locator(f"#conv-{second}")).to_contain_text("Outra conversa")
        assert await links[second].evaluate("e => e.isConnected")
        assert await links[first].evaluate("e => e.isConnected")
        await expect(page.locator(f"#conv-{first}")).to_contain_text("Primeira conversa")
    finally:
        await page.context.close()


async def _row_changes_live(page: Page, conversation_id: uuid.UUID, text: str) -> None:
    """A live event for the row, as the SSE extension applies it: a newer copy (saying
    `text`, its message just now) taken out of the list and put back at its top."""
    await page.evaluate(
        """([id, text]) => {
            const row = document.getElementById(id).cloneNode(true);
            const version = String(Number(row.getAttribute("data-version")) + 1);
            row.setAttribute("data-version", version);
            row.querySelector(".conv-preview").textContent = text;
            row.querySelector("time").setAttribute("datetime", new Date().toISOString());
            const html = `<li id="${id}" data-version="${version}" hx-swap-oob="delete"></li>`
                + `<ul hx-swap-oob="afterbegin:#conversation-list">${row.outerHTML}</ul>`;
            htmx.trigger(document.body, "htmx:sseBeforeMessage", {data: html});
            htmx.swap(document.body, html, {swapStyle: "none"});
        }""",
        [f"conv-{conversation_id}", text],
    )


async def test_a_row_changed_live_during_the_reload_keeps_its_element_and_live_state(
    chromium: PlaywrightBrowser,
    live_server: str,
    client: httpx.AsyncClient,
    db: Database,
    factory: Factory,
) -> None:
    company_id, first, _ = await _two_chats(client, db, factory)
    page = await open_panel(chromium, live_server, await factory.user(company_id, Role.SUPERVISOR))
    try:
        await _inbox_once_reloaded(page)
        row = page.locator(f"#conv-{first}")
        async with _held_reload(page):
            # The answer, read before, has the row's older copy.
            await _row_changes_live(page, first, "Mais uma coisa")
            await expect(row).to_contain_text("Mais uma coisa")
            live = await row.locator("a").element_handle()
        await expect(row).to_contain_text("Mais uma coisa")
        assert await live.evaluate("e => e.isConnected")
        await expect(page.locator("#conversation-list .conv").first).to_have_id(f"conv-{first}")
    finally:
        await page.context.close()


async def test_the_list_loads_its_next_page_when_scrolled_to_its_end_after_a_reload(
    chromium: PlaywrightBrowser,
    live_server: str,
    client: httpx.AsyncClient,
    db: Database,
    factory: Factory,
) -> None:
    chat = await new_company_chat(client, db, factory)
    for index in range(LIST_SIZE):
        await customer_writes(
            client, db, chat.instance, text_body=f"Conversa {index}", phone=f"55119800{index:05}"
        )
    user = await factory.user(chat.instance.company_id, Role.SUPERVISOR)
    page = await open_panel(chromium, live_server, user)
    try:
        await _inbox_once_reloaded(page)
        rows = page.locator("#conversation-list .conv")
        await expect(rows).to_have_count(LIST_SIZE)
        # The list scrolls in its own box (the window does not move).
        await page.locator("#conversation-list .more").scroll_into_view_if_needed()
        await expect(rows).to_have_count(LIST_SIZE + 1)
        ids = await rows.evaluate_all("rows => rows.map(row => row.id)")
        assert f"conv-{chat.conversation_id}" in ids
        assert len(set(ids)) == LIST_SIZE + 1
    finally:
        await page.context.close()


async def test_a_chat_arriving_live_during_the_reload_stays_in_the_list(
    chromium: PlaywrightBrowser,
    live_server: str,
    client: httpx.AsyncClient,
    db: Database,
    factory: Factory,
) -> None:
    company_id, first, second = await _two_chats(client, db, factory)
    page = await open_panel(chromium, live_server, await factory.user(company_id, Role.SUPERVISOR))
    try:
        await _inbox_once_reloaded(page)
        # The second chat's row, taken off the page: its live event then brings a new row.
        arriving = await page.evaluate(
            """id => { const row = document.getElementById(id); row.remove();
                       return row.outerHTML; }""",
            f"conv-{second}",
        )
        row = page.locator(f"#conv-{second}")
        # The answer was read before the chat's first message, so it does not have the row.
        without = re.compile(rf'<li[^>]*id="conv-{second}".*?</li>', re.DOTALL)
        async with _held_reload(page, lambda body: without.sub("", body)):
            await page.evaluate(
                """html => {
                    html = `<ul hx-swap-oob="afterbegin:#conversation-list">${html}</ul>`;
                    htmx.trigger(document.body, "htmx:sseBeforeMessage", {data: html});
                    htmx.swap(document.body, html, {swapStyle: "none"});
                }""",
                arriving,
            )
            await expect(row).to_have_count(1)
        await expect(row).to_contain_text("Segunda conversa")
        await expect(page.locator(f"#conv-{first}")).to_have_count(1)
    finally:
        await page.context.close()
