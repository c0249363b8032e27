"""Panel fixtures: fresh cookie jars on the in-process app, panel login, chats to look at."""

from __future__ import annotations

import os
import re
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass

import httpx
import pytest
from fastapi import FastAPI
from playwright.async_api import Browser as PlaywrightBrowser
from playwright.async_api import async_playwright, expect

from tests.conftest import SIMULATOR_KEY, Factory, UserFixture
from tests.evolution.harness import Instance, new_instance, post, rows, text_message
from tests.live import register_simulated_instance
from tests.web.shop import Shop, Simulator
from zapcrm.app import create_app
from zapcrm.config import Settings
from zapcrm.db import Database
from zapcrm.runtime import Runtime

CSRF_IN_PAGE = re.compile(r'"X-CSRF-Token": "([^"]+)"')
LOGIN_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture(scope="session")
async def panel_app(settings: Settings) -> AsyncIterator[FastAPI]:
    """The app (lifespan running) for browsers simulated by httpx."""
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        yield app


Browser = Callable[[], Awaitable[httpx.AsyncClient]]


@pytest.fixture
async def new_browser(panel_app: FastAPI) -> AsyncIterator[Browser]:
    """Makes HTTP clients with their own cookie jars, like separate browsers."""
    opened: list[httpx.AsyncClient] = []

    async def make() -> httpx.AsyncClient:
        http = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=panel_app), base_url="http://zapcrm.test"
        )
        opened.append(http)
        return http

    yield make
    for http in opened:
        await http.aclose()


async def panel_login(http: httpx.AsyncClient, user: UserFixture) -> str:
    """Sign in through the login form; returns the session's CSRF token."""
    form = await http.get("/panel/login")
    match = LOGIN_CSRF.search(form.text)
    assert match, form.text
    response = await http.post(
        "/panel/login",
        data={"email": user.email, "password": user.password, "csrf_token": match.group(1)},
    )
    assert response.status_code == 303, response.text
    inbox = await http.get("/panel/inbox")
    assert inbox.status_code == 200, inbox.text
    token = CSRF_IN_PAGE.search(inbox.text)
    assert token, inbox.text
    return token.group(1)


@dataclass
class Chat:
    """A conversation created by a customer's webhook message."""

    instance: Instance
    conversation_id: uuid.UUID


async def customer_writes(
    client: httpx.AsyncClient,
    db: Database,
    instance: Instance,
    *,
    text_body: str,
    phone: str = "5511987650001",
    name: str = "Cliente",
) -> uuid.UUID:
    """A customer message arrives by webhook; returns its conversation id."""
    key = f"P{uuid.uuid4().hex[:16].upper()}"
    body = text_message(
        key, remote_jid=f"{phone}@s.whatsapp.net", text_body=text_body, push_name=name
    )
    response = await post(client, instance.envelope(body))
    assert response.status_code == 200, response.text
    found = await rows(
        db,
        "select conversation_id from evolution_messages where instance_id = :i and key_id = :k",
        i=instance.instance_id,
        k=key,
    )
    return uuid.UUID(str(found[0]["conversation_id"]))


async def new_company_chat(
    client: httpx.AsyncClient, db: Database, factory: Factory, text_body: str = "Olá!"
) -> Chat:
    """A fresh company whose instance received one customer message."""
    instance = await new_instance(db, factory)
    conversation_id = await customer_writes(client, db, instance, text_body=text_body)
    return Chat(instance, conversation_id)


CHROMIUM = os.environ.get("ZAPCRM_CHROMIUM", "/usr/bin/chromium")
# Without these, Chromium keeps trying to reach Google's services, which this network refuses.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="session")
async def chromium() -> AsyncIterator[PlaywrightBrowser]:
    """Debian's Chromium driven by Playwright (installed by scripts/ensure-browser)."""
    # The suite runs beside other test processes on two cores: allow for a slow moment.
    expect.set_options(timeout=15_000)
    if not os.path.exists(CHROMIUM):  # noqa: ASYNC240 - once per session, before any I/O
        pytest.fail(f"Chromium not found at {CHROMIUM}: run scripts/ensure-browser")
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            await browser.close()


def screenshot_path(name: str) -> str | None:
    """Where to save a screenshot of a main screen (README images), when asked to."""
    folder = os.environ.get("ZAPCRM_SCREENSHOTS")
    return os.path.join(folder, f"{name}.png") if folder else None


@pytest.fixture
async def shop(
    chromium: PlaywrightBrowser,
    simulator: Simulator,
    live_server: str,
    live_worker: None,
    db: Database,
    factory: Factory,
    runtime: Runtime,
) -> AsyncIterator[Shop]:
    """A new company owning the simulator's instance, with the worker running; the pages its
    staff open are closed after the test, whatever its outcome."""
    company_id = await register_simulated_instance(simulator, db, factory, runtime)
    async with httpx.AsyncClient(
        base_url=simulator[0],
        timeout=10,
        headers={"apikey": SIMULATOR_KEY},
        # The simulator closes idle connections after 5 s, as Evolution does: let go first
        # (runtime.py says why).
        limits=httpx.Limits(keepalive_expiry=2.0),
    ) as sim:
        # The test simulator's clock starts in 2025 and stands still: bring it to today, so
        # the panel shows what a user would see (today's messages, waits in minutes, reports).
        now = (await sim.post("/_sim/clock/advance", json={"seconds": 0})).json()["now"]
        ahead = {"seconds": max(0.0, time.time() - now - 60)}
        assert (await sim.post("/_sim/clock/advance", json=ahead)).status_code == 200
        opened = Shop(company_id, simulator[1], sim, factory, chromium, live_server)
        try:
            yield opened
            assert not opened.page_errors, f"uncaught JavaScript errors: {opened.page_errors}"
        finally:
            await opened.close()
