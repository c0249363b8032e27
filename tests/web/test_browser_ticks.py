"""A sent message's ticks on the chat page: live, through the gateway's echo arriving before the
send's own answer, and without live events at all (the page reads unsettled ticks again,
panel.js watchTicks) whatever else the page is loading."""

from __future__ import annotations

import asyncio
import contextlib
import re

import pytest
from playwright.async_api import Route, expect

from tests.web.shop import Shop, send_from_composer, until_live
from zapcrm.messaging.jobs import IncomingHandler
from zapcrm.models import Role


async def test_an_echo_drawn_before_the_sends_answer_goes_into_our_bubble(shop: Shop) -> None:
    """The gateway takes the send but answers it with a 5xx: its echo arrives first and is
    drawn as a bubble of its own, until the retry finds it and folds it into ours (sending.py
    rules 2-3). The page ends with one bubble, ours, read."""
    page = await shop.panel(Role.SUPERVISOR)
    customer = await shop.open_new_chat(page, "Seu Dito", "O bolo fica pronto que horas?")
    faults = {"rest_error_rate": 1.0, "rest_error_after_send": True}
    response = await shop.sim.put(f"/_sim/faults?instance={shop.instance}", json=faults)
    assert response.status_code == 200, response.text

    ours = await send_from_composer(page, "Fica pronto às 16h")
    same_text = page.locator("#messages .bubble.out", has_text="Fica pronto às 16h")
    await expect(same_text).to_have_count(2)  # the echo, while our send waits for its retry
    await customer.until_received("Fica pronto às 16h")
    await expect(ours.locator(".tick")).to_have_attribute("title", "lida")
    await expect(same_text).to_have_count(1)
    assert await customer.received() == ["Fica pronto às 16h"]  # sent once


async def test_unsettled_ticks_are_read_again_while_the_lists_reload_is_slow(
    shop: Shop, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The chat's reload used to go out from document.body, like the list's reload that the
    live stream's opening starts; htmx runs one request at a time per element, so while a slow
    list answer was on its way the chat was not read again at all, and a bubble whose live
    events were lost stayed "na fila" however long Postgres had had it read."""
    page = await shop.panel(Role.SUPERVISOR)
    customer = await shop.open_new_chat(page, "Dona Lurdes", "Vocês entregam hoje?")
    chat_url = page.url
    release = asyncio.Event()

    async def slow_list(route: Route) -> None:
        await release.wait()  # a list whose query takes longer than the whole test
        with contextlib.suppress(Exception):  # the page may be gone by then
            await route.continue_()

    await page.route(re.compile(r"/panel/inbox\?.*current="), slow_list)
    try:
        await page.goto(chat_url)  # its stream's opening reloads the list (held) and the chat
        await until_live(page)
        await page.wait_for_timeout(500)  # the stream said it is ready: the list was asked for
        # No live event reaches the page from now on (a stream lost quietly, a late worker).
        monkeypatch.setattr(IncomingHandler, "_announce", lambda *args, **kwargs: None)

        bubble = await send_from_composer(page, "Entregamos sim, até as 18h")
        # Not read yet: "na fila", or "enviada" once the send worker's own live event came
        # (only the incoming side is silenced); seen as "na fila" alone, the test raced it.
        await expect(bubble.locator(".tick")).not_to_have_attribute("title", "lida")
        await customer.until_received("Entregamos sim, até as 18h")
        # The reloads come 4, 12 and 28 s after the send: the read tick is in Postgres within
        # a few seconds of the send, so one of the first two reloads shows it.
        await expect(bubble.locator(".tick")).to_have_attribute("title", "lida", timeout=20_000)
    finally:
        release.set()
