"""The chat's history in real Chromium, as an operator reads it over days: each day under one
separator of its own, the older page loaded without moving what is on screen, and a message
edited by the customer while that page was on its way."""

from __future__ import annotations

import asyncio
import contextlib
import re
import uuid

from playwright.async_api import Page, Route, expect
from sqlalchemy import text

from tests.evolution.harness import rows
from tests.web.shop import Customer, Shop, until_live
from zapcrm.db import Database
from zapcrm.messaging import cache
from zapcrm.messaging.changes import message_changed
from zapcrm.models import Role
from zapcrm.outbox import record
from zapcrm.runtime import Runtime
from zapcrm.web.pages.inbox.chat import CHAT_PAGE_SIZE


def conversation_of(page: Page) -> uuid.UUID:
    return uuid.UUID(page.url.rsplit("/", 1)[1].split("?")[0])


async def days_shown(page: Page) -> list[str]:
    return await page.locator("#messages .day").all_inner_texts()


async def a_chat_from_yesterday(
    shop: Shop, db: Database, runtime: Runtime, name: str, words: str
) -> tuple[Page, Customer, uuid.UUID]:
    """An operator's page on the chat of a customer whose message (`words`) is dated a day
    back, the chat's cached page dropped so it is read again from Postgres."""
    page = await shop.panel(Role.OPERATOR)
    customer = await shop.open_new_chat(page, name, words)
    conversation_id = conversation_of(page)
    async with db.engine.begin() as connection:
        await connection.execute(
            text(
                "update evolution_messages set message_timestamp = message_timestamp"
                " - interval '1 day' where conversation_id = :c"
            ),
            {"c": conversation_id},
        )
    await runtime.redis.delete(
        cache.page_key(conversation_id), cache.page_complete_key(conversation_id)
    )
    return page, customer, conversation_id


async def a_long_chat(
    shop: Shop, page: Page, db: Database, name: str, extra: int
) -> tuple[Customer, list[str]]:
    """A customer who wrote a page of messages and `extra` more, every one of them stored, the
    chat open at its latest page with the loader of the older one above it; the key ids in the
    order sent."""
    customer = await shop.customer(name)
    key_ids: list[str] = []
    for n in range(CHAT_PAGE_SIZE + extra):
        sent = await customer.sim.post(
            f"/_sim/instances/{customer.instance}/inbound",
            json={"from": customer.phone, "type": "text", "text": f"mensagem {n}"},
        )
        assert sent.status_code == 201, sent.text
        key_ids.append(sent.json()["data"]["key"]["id"])
    async with asyncio.timeout(30):  # stored, all: none arrives live once the chat is open
        while True:
            [stored] = await rows(
                db,
                "select count(*) as n from evolution_messages m"
                " join evolution_instances i on i.id = m.instance_id"
                " where i.external_id = :instance and m.key_id = any(:keys)",
                instance=shop.instance,
                keys=key_ids,
            )
            if stored["n"] == len(key_ids):
                break
            await asyncio.sleep(0.2)
    await page.goto("/panel/inbox?tab=unassigned")
    await page.locator(".conv", has_text=name).locator("a").click()
    bubbles = page.locator("#messages > .bubble")
    async with asyncio.timeout(30):  # the cache may still lag: one page and the loader
        while await bubbles.count() < CHAT_PAGE_SIZE or not await page.locator("#older").count():
            await page.wait_for_timeout(300)
            await page.reload()
    await until_live(page)
    return customer, key_ids


async def scroll_to_the_top(page: Page) -> None:
    """The reader scrolls up with the wheel as far as the chat goes, and stops there."""
    box = page.locator("#messages")
    await box.hover()
    for _ in range(60):
        await page.mouse.wheel(0, -400)
        await page.wait_for_timeout(30)
        if await box.evaluate("box => box.scrollTop") == 0:
            return


async def test_a_message_of_a_new_day_comes_under_that_days_separator(
    shop: Shop, db: Database, runtime: Runtime
) -> None:
    """The customer wrote yesterday and writes again today with the chat open: the new
    message, the answer and a note go under "Hoje", not under yesterday's separator."""
    page, customer, _ = await a_chat_from_yesterday(
        shop, db, runtime, "Dona Yara", "Vocês entregam no domingo?"
    )
    await page.reload()
    await until_live(page)
    assert await days_shown(page) == ["Ontem"]

    await customer.writes("Bom dia, e hoje?")
    await expect(page.locator("#messages")).to_contain_text("Bom dia, e hoje?")
    assert await days_shown(page) == ["Ontem", "Hoje"]
    today = page.locator("#messages .day", has_text="Hoje")
    await expect(today.locator("~ .bubble", has_text="Bom dia, e hoje?")).to_have_count(1)

    await page.locator("#composer-text").fill("Hoje entregamos até as 18h")
    await page.locator("#composer-text").press("Enter")
    await expect(page.locator("#messages .bubble.out")).to_contain_text("até as 18h")
    await expect(page.locator("#composer-text")).to_have_value("")
    await page.locator("#composer-text").fill("Cliente pergunta de domingo")
    await page.get_by_role("button", name="Nota interna").click()
    await expect(page.locator("#messages .bubble.note")).to_contain_text("de domingo")
    await page.wait_for_timeout(500)  # the live copies of both arrive too
    assert await days_shown(page) == ["Ontem", "Hoje"]
    await page.reload()
    assert await days_shown(page) == ["Ontem", "Hoje"]


async def test_a_reload_read_before_a_new_days_message_keeps_its_separator(
    shop: Shop, db: Database, runtime: Runtime
) -> None:
    """The chat's reload (the live stream's opening, or the ticks' check) was read before the
    customer's first message of the day, which came live while the answer was on its way: the
    message stays, under "Hoje" (it used to stay under yesterday's separator)."""
    page, customer, conversation_id = await a_chat_from_yesterday(
        shop, db, runtime, "Dona Zilda", "Tem bolo de milho?"
    )
    read = asyncio.Event()
    arrived = asyncio.Event()

    async def answer_after_the_message(route: Route) -> None:
        if route.request.headers.get("hx-target") != "messages":
            await route.continue_()
            return
        response = await route.fetch()  # read now, before the customer writes
        read.set()
        await arrived.wait()
        await route.fulfill(response=response)

    await page.route(f"**/panel/inbox/{conversation_id}", answer_after_the_message)
    await page.reload()  # its stream's opening reloads the chat
    await asyncio.wait_for(read.wait(), 15)
    assert await days_shown(page) == ["Ontem"]

    await customer.writes("Bom dia, e hoje?")
    # It comes live in 1-3 s. Twice it did not within 15-30 s (a CI run, and a run here with
    # both test processes' browsers beside two bulk COPYs, when a live row of another test
    # missed its 15 s too): the held answer is let go after 10 s in any case, so the test
    # never waits on itself, and what it checks then (one "Hoje", the message under it) holds
    # for a message that comes after the reload as well.
    with contextlib.suppress(AssertionError):
        await expect(page.locator("#messages")).to_contain_text("Bom dia, e hoje?", timeout=10_000)
    arrived.set()
    await expect(page.locator("#messages .bubble.in")).to_have_count(2)
    await page.wait_for_timeout(500)  # the held reload has landed
    assert await days_shown(page) == ["Ontem", "Hoje"]
    today = page.locator("#messages .day", has_text="Hoje")
    await expect(today.locator("~ .bubble", has_text="Bom dia, e hoje?")).to_have_count(1)


async def test_the_older_page_keeps_the_reader_in_place_under_one_separator_a_day(
    shop: Shop, db: Database
) -> None:
    """The reader reaches the top of the chat before the older page arrives (held here until
    then, as on a slow connection)."""
    page = await shop.panel(Role.OPERATOR)
    await a_long_chat(shop, page, db, "Seu Tadeu", 15)
    first = page.locator("#messages > .bubble").first
    first_id = await first.get_attribute("id")
    at_the_top = asyncio.Event()

    async def older_page_after_the_scroll(route: Route) -> None:
        response = await route.fetch()
        await at_the_top.wait()
        await route.fulfill(response=response)

    await page.route(
        re.compile(r"/panel/conversations/[0-9a-f-]+/older\?"), older_page_after_the_scroll
    )
    await scroll_to_the_top(page)
    assert await page.locator("#messages").evaluate("box => box.scrollTop") == 0
    at_the_top.set()
    await expect(page.locator("#messages > .bubble")).to_have_count(CHAT_PAGE_SIZE + 15)
    await page.wait_for_timeout(300)
    # What the reader was reading stays on screen, at the top where it was.
    at = await page.evaluate(
        """id => document.getElementById(id).getBoundingClientRect().top
              - document.getElementById('messages').getBoundingClientRect().top""",
        first_id,
    )
    assert 0 <= at < 150, at
    # All of it was written today: one "Hoje", not one more where the pages meet.
    assert await days_shown(page) == ["Hoje"]


async def test_a_message_edited_while_the_older_page_loads_shows_the_edit(
    shop: Shop, db: Database
) -> None:
    """The older page is read before the customer's edit and arrives after it: the edit, whose
    live copy had no bubble to land on then, still shows once the page is in."""
    page = await shop.panel(Role.OPERATOR)
    customer, key_ids = await a_long_chat(shop, page, db, "Seu Abílio", 1)
    shown = set(await page.locator("#messages .bubble .body").all_inner_texts())
    left_out = [n for n in range(len(key_ids)) if f"mensagem {n}" not in shown]
    assert len(left_out) == 1, shown
    old, loaded = left_out[0], (left_out[0] + 1) % len(key_ids)
    read = asyncio.Event()
    release = asyncio.Event()

    async def late_older_page(route: Route) -> None:
        response = await route.fetch()  # read now, before the edit
        read.set()
        await release.wait()
        await route.fulfill(response=response)

    await page.route(re.compile(r"/panel/conversations/[0-9a-f-]+/older\?"), late_older_page)
    await scroll_to_the_top(page)
    await asyncio.wait_for(read.wait(), 10)

    await customer.edits(key_ids[old], "antiga, corrigida")
    await customer.edits(key_ids[loaded], "recente, corrigida")
    await expect(page.locator("#messages")).to_contain_text("recente, corrigida")
    await page.wait_for_timeout(500)  # the older message's edit came by then too
    release.set()
    await expect(page.locator("#messages > .bubble")).to_have_count(CHAT_PAGE_SIZE + 1)
    bodies = page.locator("#messages .bubble .body")
    await expect(bodies.filter(has_text="antiga, corrigida")).to_have_count(1)
    await expect(bodies.filter(has_text=re.compile(rf"^mensagem {old}$"))).to_have_count(0)


async def test_a_message_older_than_the_page_arriving_live_is_shown_once(
    shop: Shop, db: Database, runtime: Runtime
) -> None:
    """WhatsApp delivers a message older than everything the chat loaded (after a reconnect,
    or stored late under load): its live copy does not sit at the end of the chat, and the
    older page, which brings it, shows it once."""
    page = await shop.panel(Role.OPERATOR)
    await a_long_chat(shop, page, db, "Dona Zica", 15)
    conversation_id = conversation_of(page)
    [oldest] = await rows(
        db,
        "select id, company_id from evolution_messages where conversation_id = :c"
        " order by message_timestamp, id limit 1",
        c=conversation_id,
    )
    async with db.service_session() as session:
        entries = await record(
            session,
            oldest["company_id"],
            [
                message_changed(
                    company_id=oldest["company_id"],
                    conversation_id=conversation_id,
                    message_id=oldest["id"],
                    change="created",
                )
            ],
        )
    await runtime.outbox.publish(entries)
    bubbles = page.locator("#messages > .bubble")
    await page.wait_for_timeout(1500)  # the live event has come and gone
    await expect(bubbles).to_have_count(CHAT_PAGE_SIZE)
    await expect(page.locator(f"#msg-{oldest['id']}")).to_have_count(0)
    await scroll_to_the_top(page)
    await expect(bubbles).to_have_count(CHAT_PAGE_SIZE + 15)
    await expect(page.locator(f"#msg-{oldest['id']}")).to_have_count(1)
    assert await days_shown(page) == ["Hoje"]
