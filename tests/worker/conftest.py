"""Fixtures for the queue runtime: a Redis logical DB per xdist worker, flushed for every test,
and a launcher that stops every runtime a test started."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis

from tests.worker.helpers import Workers
from zapcrm.config import load_settings
from zapcrm.redis import create_redis

REDIS_BASE = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379")


def _redis_db() -> int:
    # DBs 14 (gw0, or no xdist) and 13 (gw1), away from the app's 0 and the main suite's low DBs.
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
    return 14 - int(worker.removeprefix("gw") or 0)


@pytest.fixture(scope="session")
def worker_redis_url() -> str:
    """The Redis DB this test process owns."""
    return f"{REDIS_BASE}/{_redis_db()}"


@pytest.fixture(scope="session")
async def redis_client(worker_redis_url: str) -> AsyncIterator[Redis]:
    """One client for the session, built like the app's (blocking pool, decoded replies)."""
    client = create_redis(load_settings(redis_url=worker_redis_url))
    try:
        yield client
    finally:
        await client.aclose()


@pytest.fixture
async def redis(redis_client: Redis) -> Redis:
    """The session client over an empty DB."""
    await redis_client.flushdb()
    return redis_client


@pytest.fixture
async def workers(redis: Redis) -> AsyncIterator[Workers]:
    """Builds fast-ticking runtimes and stops those still running when the test ends."""
    launcher = Workers(redis)
    try:
        yield launcher
    finally:
        await launcher.stop_all()
