"""The inbox tabs' counts: open chats nobody has, and the reader's open chats with news."""

from __future__ import annotations

import re

import httpx
from playwright.async_api import expect
from sqlalchemy import text

from tests.conftest import Factory
from tests.evolution.harness import new_instance, post, rows, text_message
from tests.messaging.chats import assign
from tests.web.conftest import Browser, panel_login
from tests.web.shop import Shop
from zapcrm.db import Database
from zapcrm.models import Role


def _count(html: str, key: str) -> str:
    found = re.search(rf'<span class="tab-count" id="count-{key}"[^>]*>([^<]*)</span>', html)
    assert found, html
    return found.group(1)


async def test_the_tabs_count_waiting_chats_and_mine_with_news(
    new_browser: Browser, client: httpx.AsyncClient, db: Database, factory: Factory
) -> None:
    instance = await new_instance(db, factory)
    operator = await factory.user(instance.company_id, Role.OPERATOR)
    colleague = await factory.user(instance.company_id, Role.OPERATOR)
    for index in range(6):
        body = text_message(f"Q{index}", remote_jid=f"55119876501{index:02d}@s.whatsapp.net")
        assert (await post(client, instance.envelope(body))).status_code == 200
    chats = [
        row["id"]
        for row in await rows(
            db,
            "select id from evolution_conversations where instance_id = :i order by remote_jid",
            i=instance.instance_id,
        )
    ]
    await assign(db, chats[0], operator.id)  # mine, unread
    await assign(db, chats[1], operator.id)  # mine, read below
    await assign(db, chats[2], colleague.id)  # a colleague's
    async with db.service_session() as session:
        await session.execute(
            text("update evolution_conversations set unread_count = 0 where id = :id"),
            {"id": chats[1]},
        )
        await session.execute(
            text("update evolution_conversations set status = 'closed' where id = :id"),
            {"id": chats[5]},
        )
    http = await new_browser()
    await panel_login(http, operator)
    inbox = await http.get("/panel/inbox")
    assert 'hx-get="/panel/queue-counts"' in inbox.text
    counts = await http.get("/panel/queue-counts")
    assert _count(counts.text, "mine") == "1"
    assert _count(counts.text, "unassigned") == "2"  # the closed one does not wait
    other = await new_browser()
    await panel_login(other, await factory.user(await factory.company(), Role.OPERATOR))
    elsewhere = await other.get("/panel/queue-counts")
    assert _count(elsewhere.text, "mine") == ""  # none: the badge stays empty (hidden)
    assert _count(elsewhere.text, "unassigned") == ""


async def test_a_customer_arriving_raises_the_waiting_count_live(shop: Shop) -> None:
    page = await shop.panel()
    await page.goto("/panel/inbox?tab=mine")
    waiting = page.locator("#count-unassigned")
    await expect(waiting).to_have_text("")
    await page.wait_for_timeout(500)  # let the live stream open
    customer = await shop.customer("Dona Rosa")
    await customer.writes("Bom dia!")
    await expect(waiting).to_have_text("1")
