"""A shop on the simulated WhatsApp, for panel tests in real Chromium: a company owning the
Evolution API simulator's instance, its staff signed in to the panel, and customers writing in.

The `shop` fixture (tests/web/conftest.py) builds one per test and closes every page it opened,
also when the test fails.
"""

from __future__ import annotations

import asyncio
import re
import uuid
from dataclasses import dataclass, field

import httpx
from playwright.async_api import Browser as PlaywrightBrowser
from playwright.async_api import Locator, Page, expect

from tests.conftest import Factory, UserFixture
from zapcrm.models import Role

Simulator = tuple[str, str, str]  # the simulator's URL, its instance's name and token


class Customer:
    """A person on the simulated WhatsApp writing to the company."""

    def __init__(self, sim: httpx.AsyncClient, instance: str, phone: str) -> None:
        self.sim = sim
        self.instance = instance
        self.phone = phone

    @classmethod
    async def create(
        cls, sim: httpx.AsyncClient, instance: str, name: str, phone: str | None = None
    ) -> Customer:
        phone = phone or f"55119{uuid.uuid4().int % 10**8:08d}"
        response = await sim.post("/_sim/customers", json={"phone": phone, "name": name})
        assert response.status_code == 201, response.text
        return cls(sim, instance, phone)

    async def writes(self, text: str) -> None:
        response = await self.sim.post(
            f"/_sim/instances/{self.instance}/inbound",
            json={"from": self.phone, "type": "text", "text": text},
        )
        assert response.status_code == 201, response.text

    async def edits(self, key_id: str, text: str) -> None:
        """The customer edits their message with WhatsApp key `key_id` to `text`."""
        response = await self.sim.post(
            f"/_sim/instances/{self.instance}/inbound",
            json={"from": self.phone, "type": "edit", "target_id": key_id, "text": text},
        )
        assert response.status_code == 201, response.text

    async def received(self) -> list[str]:
        response = await self.sim.get(f"/_sim/instances/{self.instance}/sent")
        return [str(item["request"].get("text") or "") for item in response.json()]

    async def until_received(self, text: str) -> None:
        """Wait (10 s at most) until the gateway has sent `text` to this customer's phone."""
        async with asyncio.timeout(10):
            while text not in await self.received():  # noqa: ASYNC110 - polls another process
                await asyncio.sleep(0.1)


# The htmx SSE extension keeps its EventSource in the element's internal data.
_STREAM_OPEN = """() => {
  const element = document.querySelector("[sse-connect]");
  const data = element && element["htmx-internal-data"];
  return Boolean(data && data.sseEventSource && data.sseEventSource.readyState === 1);
}"""


async def until_live(page: Page) -> None:
    """Wait until the page's live stream is open."""
    await page.wait_for_function(_STREAM_OPEN)


_BUBBLE_ID = re.compile(r'id="(msg-[0-9a-f-]{36})"')


async def send_from_composer(page: Page, text: str) -> Locator:
    """Send `text` from the open chat's composer (Enter); returns the bubble of the message it
    queued, found by its id.

    Not by its text: the gateway's echo of the send has the same text, and when it reaches us
    before the send's answer it is drawn as a bubble of its own until the answer folds it into
    ours (sending.py rule 3). A locator by text then matches both bubbles for that moment, and
    an assertion on one element of it fails at once (Playwright's strict mode), whatever its
    timeout says: its report shows both bubbles' ticks, unsettled, and no reload or live event
    after the send, as the page was read less than a second after it.
    """
    await page.fill("#composer-text", text)
    async with page.expect_response(
        lambda response: response.request.method == "POST" and response.url.endswith("/messages")
    ) as answer:
        await page.keyboard.press("Enter")
    found = _BUBBLE_ID.search(await (await answer.value).text())
    assert found, "the composer's answer is the new bubble"
    return page.locator(f"#{found.group(1)}")


async def open_panel(
    chromium: PlaywrightBrowser,
    base_url: str,
    user: UserFixture,
    *,
    viewport: tuple[int, int] = (1280, 800),
) -> Page:
    """A new browser context signed in as `user`, on the inbox."""
    context = await chromium.new_context(
        base_url=base_url,
        viewport={"width": viewport[0], "height": viewport[1]},
        locale="pt-BR",
        timezone_id="America/Sao_Paulo",
    )
    page = await context.new_page()
    await page.goto("/panel/inbox")
    await page.fill("#email", user.email)
    await page.fill("#password", user.password)
    await page.click("button[type=submit]")
    await page.wait_for_url("**/panel/inbox")
    return page


@dataclass
class Shop:
    """The company of one test, its simulator instance and the pages its staff opened."""

    company_id: uuid.UUID
    instance: str
    sim: httpx.AsyncClient
    factory: Factory
    chromium: PlaywrightBrowser
    base_url: str
    pages: list[Page] = field(default_factory=list)
    # Uncaught JavaScript exceptions of those pages: the shop fixture fails a test that had any
    # (an exception in panel.js can stop a live update half way, with nothing else to show).
    page_errors: list[str] = field(default_factory=list)

    async def user(self, role: Role) -> UserFixture:
        """A new member of staff with this role."""
        return await self.factory.user(self.company_id, role)

    async def panel(
        self,
        role: Role = Role.OPERATOR,
        *,
        user: UserFixture | None = None,
        viewport: tuple[int, int] = (1280, 800),
    ) -> Page:
        """A browser signed in to the panel, on the inbox: as `user`, or as a new one of `role`."""
        user = user or await self.user(role)
        page = await open_panel(self.chromium, self.base_url, user, viewport=viewport)
        page.on("pageerror", lambda error: self.page_errors.append(f"{page.url}: {error!r}"))
        self.pages.append(page)
        return page

    async def customer(self, name: str, phone: str | None = None) -> Customer:
        """A new person on the simulated WhatsApp."""
        return await Customer.create(self.sim, self.instance, name, phone)

    async def open_new_chat(self, page: Page, name: str, text: str) -> Customer:
        """A new customer writes; the agent opens the chat from the unassigned queue."""
        customer = await self.customer(name)
        await customer.writes(text)
        await page.goto("/panel/inbox?tab=unassigned")
        await page.locator(".conv", has_text=name).locator("a").click()
        await expect(page.locator("#messages")).to_contain_text(text)
        return customer

    async def close(self) -> None:
        for page in self.pages:
            await page.context.close()
