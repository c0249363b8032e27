"""A panel left open past midnight (the company's, BRT) reads again what it shows: its "Hoje",
"Ontem" and times were written for the day it was drawn."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from playwright.async_api import Request, expect

from tests.web.shop import Shop, until_live
from zapcrm.models import Role


async def test_the_inbox_reads_its_list_again_when_the_company_day_turns(shop: Shop) -> None:
    page = await shop.panel(Role.OPERATOR)
    await shop.open_new_chat(page, "Seu Olavo", "Boa noite, ainda atendem?")
    # 23:58 in São Paulo (02:58 UTC the next day), the browser's clock in our hands.
    now = datetime.now(UTC)
    evening = (now + timedelta(days=1)).replace(hour=2, minute=58, second=0, microsecond=0)
    await page.clock.install(time=evening)
    await page.reload()
    await until_live(page)
    await page.wait_for_timeout(1000)  # the stream's first reload (at "ready") has come
    reads: list[str] = []

    def seen(request: Request) -> None:
        if request.method == "GET" and request.headers.get("hx-target") == "conversation-list":
            reads.append(request.url)

    page.on("request", seen)
    await page.clock.run_for(60_000)  # a minute later, still the same day
    await page.wait_for_timeout(500)
    assert reads == []
    await page.clock.run_for(120_000)  # past midnight
    for _ in range(50):
        if reads:
            break
        await page.wait_for_timeout(200)
    assert reads, "the list was not read again after midnight"
    await expect(page.locator("#messages")).to_contain_text("Boa noite, ainda atendem?")
