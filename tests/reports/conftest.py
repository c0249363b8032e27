"""Report fixtures: the seeded shop and browsers (own cookie jars) on the in-process app."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable

import httpx
import pytest
from fastapi import FastAPI

from tests.conftest import Factory
from tests.reports.helpers import Shop, seed_shop
from zapcrm.app import create_app
from zapcrm.config import Settings
from zapcrm.db import Database

Browser = Callable[[], Awaitable[httpx.AsyncClient]]


@pytest.fixture
async def shop(db: Database, factory: Factory) -> Shop:
    """A company with a known week of service (tests/reports/helpers.py)."""
    return await seed_shop(db, factory)


@pytest.fixture(scope="session")
async def report_app(settings: Settings) -> AsyncIterator[FastAPI]:
    """The app (lifespan running) for browsers simulated by httpx."""
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        yield app


@pytest.fixture
async def new_browser(report_app: FastAPI) -> AsyncIterator[Browser]:
    """Makes HTTP clients with their own cookie jars, like separate browsers."""
    opened: list[httpx.AsyncClient] = []

    async def make() -> httpx.AsyncClient:
        http = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=report_app), base_url="http://zapcrm.test"
        )
        opened.append(http)
        return http

    yield make
    for http in opened:
        await http.aclose()
