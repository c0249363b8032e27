"""panel.js against live events that arrive out of order, in real Chromium.

The worker publishes from several batches at once, so a page can get an older copy of a bubble
or row after a newer one, a "created" event after the composer already drew the bubble, or an
echo's "created" after the event that folded it away. The page must keep the newest copy.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime

import httpx
from playwright.async_api import Browser as PlaywrightBrowser
from playwright.async_api import Page, Route, expect

from tests.conftest import Factory
from tests.web.conftest import customer_writes, new_company_chat
from tests.web.shop import open_panel
from zapcrm.db import Database
from zapcrm.models import Role


async def _live(page: Page, html: str) -> None:
    """Apply an event's fragments the way the SSE extension does (out-of-band swaps)."""
    await page.evaluate(
        """html => {
            htmx.trigger(document.body, "htmx:sseBeforeMessage", {data: html});
            htmx.swap(document.body, html, {swapStyle: "none"});
        }""",
        html,
    )


async def _open_chat_once_reloaded(page: Page, conversation_id: uuid.UUID) -> None:
    """Open the chat and wait for the reload of its messages that the opening of its live
    stream starts; `window.messagesReloaded` is set again by every later reload."""
    await page.add_init_script(
        """document.addEventListener("htmx:afterSwap", event => {
            if (event.detail.target.id === "messages") window.messagesReloaded = true;
        });"""
    )
    await page.goto(f"/panel/inbox/{conversation_id}?tab=all")
    await page.wait_for_function("() => window.messagesReloaded === true")


def _bubble(message_id: str, version: int, body: str, oob: str | None = None) -> str:
    swap = f' hx-swap-oob="{oob}"' if oob else ""
    return (
        f'<article id="msg-{message_id}" class="bubble in" data-version="{version}"{swap}>'
        f'<p class="body">{body}</p></article>'
    )


async def test_the_page_keeps_the_newest_copy_of_what_it_shows(
    chromium: PlaywrightBrowser,
    live_server: str,
    client: httpx.AsyncClient,
    db: Database,
    factory: Factory,
) -> None:
    chat = await new_company_chat(client, db, factory, text_body="Primeira versão")
    supervisor = await factory.user(chat.instance.company_id, Role.SUPERVISOR)
    page = await open_panel(chromium, live_server, supervisor)
    try:
        # Once reloaded, or the reload could undo a stale copy the page itself must refuse.
        await _open_chat_once_reloaded(page, chat.conversation_id)
        bubble = page.locator("#messages .bubble", has_text="Primeira versão")
        await expect(bubble).to_have_count(1)
        message_id = (await bubble.get_attribute("data-message-id")) or ""
        version = int((await bubble.get_attribute("data-version")) or "0")
        one = page.locator(f"#msg-{message_id}")

        # An older copy arriving late changes nothing; a newer one replaces it.
        await _live(page, _bubble(message_id, version - 1, "Cópia velha", "true"))
        await expect(one).to_contain_text("Primeira versão")
        await _live(page, _bubble(message_id, version + 2, "Cópia nova", "true"))
        await expect(one).to_contain_text("Cópia nova")

        # A "created" event for a bubble already drawn (the composer's answer came first).
        created = _bubble(message_id, version + 1, "Criada")
        await _live(page, f'<div hx-swap-oob="beforeend:#messages">{created}</div>')
        await expect(one).to_have_count(1)
        await expect(one).to_contain_text("Cópia nova")

        # The echo of a send, folded away before its own "created" event arrives.
        echo = str(uuid.uuid4())
        await _live(
            page, f'<div id="msg-{echo}" hx-swap-oob="delete" data-gone="msg-{echo}"></div>'
        )
        await _live(page, f'<div hx-swap-oob="beforeend:#messages">{_bubble(echo, 1, "Eco")}</div>')
        await expect(page.locator(f"#msg-{echo}")).to_have_count(0)

        # A stale removal of the conversation's row (an older state outside the list).
        row = page.locator(f"#conv-{chat.conversation_id}")
        await expect(row).to_have_count(1)
        await _live(
            page,
            f'<li id="conv-{chat.conversation_id}" data-version="0" hx-swap-oob="delete"></li>',
        )
        await expect(row).to_have_count(1)
    finally:
        await page.context.close()


async def test_a_reload_of_the_chat_keeps_what_arrived_while_it_was_on_its_way(
    chromium: PlaywrightBrowser,
    live_server: str,
    client: httpx.AsyncClient,
    db: Database,
    factory: Factory,
) -> None:
    chat = await new_company_chat(client, db, factory, text_body="Antes da recarga")
    supervisor = await factory.user(chat.instance.company_id, Role.SUPERVISOR)
    page = await open_panel(chromium, live_server, supervisor)
    try:
        await _open_chat_once_reloaded(page, chat.conversation_id)
        await page.evaluate("() => { window.messagesReloaded = false; }")

        async def slow_reload(route: Route) -> None:
            await asyncio.sleep(1.0)  # the answer was rendered before the new bubble existed
            await route.continue_()

        await page.route(
            lambda url: url.endswith(f"/panel/inbox/{chat.conversation_id}"), slow_reload
        )
        # The stream reconnects (a reload starts), then a message is drawn before its answer.
        await page.evaluate("() => htmx.trigger(document.body, 'htmx:sseOpen')")
        fresh = str(uuid.uuid4())
        now = datetime.now(UTC).isoformat()
        await _live(
            page,
            '<div hx-swap-oob="beforeend:#messages">'
            f'<article id="msg-{fresh}" class="bubble out" data-version="1">'
            f'<p class="body">Enviada agora</p><footer><time datetime="{now}"></time></footer>'
            "</article></div>",
        )
        await page.wait_for_function("() => window.messagesReloaded === true")
        await expect(page.locator(f"#msg-{fresh}")).to_have_count(1)
        await expect(page.locator("#messages")).to_contain_text("Antes da recarga")
    finally:
        await page.context.close()


def _timed_bubble(message_id: str, at: str, body: str) -> str:
    return (
        f'<div hx-swap-oob="beforeend:#messages"><article id="msg-{message_id}" class="bubble in"'
        f' data-version="1"><p class="body">{body}</p><footer><time datetime="{at}">'
        "</time></footer></article></div>"
    )


async def test_live_messages_arriving_out_of_order_take_their_place_in_the_chat(
    chromium: PlaywrightBrowser,
    live_server: str,
    client: httpx.AsyncClient,
    db: Database,
    factory: Factory,
) -> None:
    chat = await new_company_chat(client, db, factory, text_body="Oi")
    supervisor = await factory.user(chat.instance.company_id, Role.SUPERVISOR)
    page = await open_panel(chromium, live_server, supervisor)
    try:
        await _open_chat_once_reloaded(page, chat.conversation_id)
        # A burst whose events come from parallel worker batches: the last second's messages
        # first, then the one of the second before, then one more of the last second whose
        # (time-ordered) id is older.
        at, before = "2026-11-28T10:00:02+00:00", "2026-11-28T10:00:01+00:00"
        await _live(page, _timed_bubble("0193" + "f" * 28, at, "terceira"))
        await _live(page, _timed_bubble("0193" + "1" * 28, before, "primeira"))
        await _live(page, _timed_bubble("0193" + "a" * 28, at, "segunda"))
        bodies = page.locator("#messages .bubble .body")
        await expect(bodies).to_have_text(["Oi", "primeira", "segunda", "terceira"])
    finally:
        await page.context.close()


def _live_row(conversation_id: uuid.UUID, version: int, body: str, admitted: bool = True) -> str:
    """A conversation event's fragments: the row out of the list, and back at its top."""
    row_id = f"conv-{conversation_id}"
    html = f'<li id="{row_id}" data-version="{version}" hx-swap-oob="delete"></li>'
    if admitted:
        at = datetime.now(UTC).isoformat()
        html += (
            f'<ul hx-swap-oob="afterbegin:#conversation-list"><li id="{row_id}"'
            f' data-version="{version}" class="conv"><a href="#">{body}'
            f' <time datetime="{at}"></time></a></li></ul>'
        )
    return html


async def test_a_reload_of_the_list_keeps_rows_that_changed_while_it_was_on_its_way(
    chromium: PlaywrightBrowser,
    live_server: str,
    client: httpx.AsyncClient,
    db: Database,
    factory: Factory,
) -> None:
    chat = await new_company_chat(client, db, factory, text_body="Primeira conversa")
    first = chat.conversation_id
    second = await customer_writes(
        client, db, chat.instance, text_body="Segunda conversa", phone="5511987650002"
    )
    supervisor = await factory.user(chat.instance.company_id, Role.SUPERVISOR)
    page = await open_panel(chromium, live_server, supervisor)
    try:
        await page.add_init_script(
            """document.addEventListener("htmx:afterSwap", event => {
                if (event.detail.target.id === "conversation-list") window.listReloads =
                    (window.listReloads || 0) + 1;
            });"""
        )
        await page.goto("/panel/inbox?tab=all")
        await page.wait_for_function("() => window.listReloads >= 1")
        rows = {c: page.locator(f"#conv-{c}") for c in (first, second)}
        versions = {c: int(await rows[c].get_attribute("data-version") or "0") for c in rows}

        # The reload is read now, and its answer reaches the page only after live events.
        answered, release = asyncio.Event(), asyncio.Event()

        async def held_reload(route: Route) -> None:
            response = await route.fetch()
            answered.set()
            await release.wait()
            await route.fulfill(response=response)

        await page.route(
            lambda url: "/panel/inbox?" in url and "tab=all" in url and "page" not in url,
            held_reload,
        )
        await page.evaluate("() => htmx.trigger(document.body, 'htmx:sseOpen')")
        async with asyncio.timeout(10):
            await answered.wait()
        await _live(page, _live_row(first, versions[first] + 3, "Mais nova"))
        await _live(page, _live_row(second, versions[second] + 1, "", False))
        await expect(rows[first]).to_contain_text("Mais nova")
        await expect(rows[second]).to_have_count(0)

        release.set()
        await page.wait_for_function("() => window.listReloads >= 2")
        await expect(rows[first]).to_contain_text("Mais nova")
        await expect(rows[second]).to_have_count(0)
    finally:
        await page.context.close()
