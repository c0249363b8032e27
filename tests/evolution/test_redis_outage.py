"""Redis stopped for 30 s during a burst: every webhook answered, nothing lost, all queued after.

Runs its own redis-server on a free port, so stopping it disturbs no other test.
"""

from __future__ import annotations

import asyncio
import time

import httpx
import orjson
import pytest
from redis.asyncio import Redis

from tests.conftest import Factory
from tests.evolution.harness import new_instance, post, rows, text_message
from tests.servers import RedisProcess
from zapcrm.app import create_app
from zapcrm.config import Settings
from zapcrm.db import Database
from zapcrm.outbox import INCOMING_STREAM, RELAY_GRACE_SECONDS, relay

OUTAGE_SECONDS = 30


@pytest.mark.slow
async def test_webhooks_survive_a_redis_outage(
    private_redis: RedisProcess, settings: Settings, db: Database, factory: Factory
) -> None:
    instance = await new_instance(db, factory)
    app = create_app(settings.model_copy(update={"redis_url": private_redis.url}))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            private_redis.stop()
            started = time.monotonic()
            sent = 0
            while time.monotonic() - started < OUTAGE_SECONDS:
                burst = [
                    post(client, instance.envelope(text_message(f"OUT{sent + i}")))
                    for i in range(10)
                ]
                answers = await asyncio.gather(*burst)
                assert [answer.status_code for answer in answers] == [200] * 10
                sent += 10
                ready = await client.get("/readyz")
                assert ready.status_code == 503
                await asyncio.sleep(2)
            private_redis.start()

    stored = await rows(
        db, "select count(*) as n from evolution_messages where instance_id = :i",
        i=instance.instance_id,
    )  # fmt: skip
    waiting = await rows(
        db, "select count(*) as n from outbox where company_id = :c", c=instance.company_id
    )
    assert stored == [{"n": sent}]
    assert waiting == [{"n": sent}]  # every entry kept for the relay

    redis = Redis.from_url(private_redis.url, decode_responses=True)
    try:
        # The relay leaves rows younger than its grace period to the request that wrote them.
        await asyncio.sleep(RELAY_GRACE_SECONDS + 0.5)
        # The relay is global: it may also carry other tests' leftovers, never fewer than ours.
        assert await relay(db, redis) >= sent
        entries = await redis.xrange(INCOMING_STREAM) or []
        company = str(instance.company_id)
        ours = [
            entry for _, entry in entries
            if entry and orjson.loads(entry["payload"]).get("company_id") == company
        ]  # fmt: skip
        assert len(ours) == sent
    finally:
        await redis.aclose()
    assert await rows(
        db, "select count(*) as n from outbox where company_id = :c", c=instance.company_id
    ) == [{"n": 0}]
