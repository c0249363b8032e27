"""Heartbeats appear while a runtime runs, carry its figures, and disappear when it stops."""

from __future__ import annotations

import os
from datetime import UTC, datetime

from redis.asyncio import Redis

from tests.worker.helpers import Workers, wait_until
from zapcrm.worker import Job, enqueue_many, live_workers
from zapcrm.worker._heartbeat import beat


async def test_heartbeat_appears_is_refreshed_and_is_removed_on_shutdown(
    redis: Redis, workers: Workers
) -> None:
    async def handle(job: Job) -> None:
        return None

    runtime = workers.runtime(consumer_name="beating", heartbeat_ttl=0.6)
    runtime.register("test:a", handler=handle, block_ms=50)
    runtime.register("test:b", handler=handle, block_ms=50)
    running = workers.start(runtime)
    await wait_until(lambda: _has_workers(redis))

    [info] = await live_workers(redis)
    assert (info.consumer, info.group, info.streams, info.pid) == (
        "beating",
        "zapcrm",
        ("test:a", "test:b"),
        os.getpid(),
    )
    assert 0 < await redis.pttl("workers:beating") <= 600
    await enqueue_many(redis, [("test:a", {"n": n}) for n in range(3)])
    await wait_until(lambda: _processed_is(redis, 3))  # a later beat carries the count

    await running.shutdown()
    assert await live_workers(redis) == []
    assert not await redis.exists("workers:beating")


async def test_expired_heartbeats_are_not_live(redis: Redis) -> None:
    now = datetime.now(UTC)
    for consumer, ttl in (("alive", 5.0), ("killed", 0.05)):
        await beat(
            redis,
            consumer=consumer,
            group="zapcrm",
            streams=["test:a"],
            host="box",
            pid=1,
            started_at=now,
            processed=0,
            failed=0,
            ttl_seconds=ttl,
        )

    await wait_until(lambda: _consumers_are(redis, ["alive"]))


async def _has_workers(redis: Redis) -> bool:
    return bool(await live_workers(redis))


async def _processed_is(redis: Redis, count: int) -> bool:
    return [info.processed for info in await live_workers(redis)] == [count]


async def _consumers_are(redis: Redis, consumers: list[str]) -> bool:
    return [info.consumer for info in await live_workers(redis)] == consumers
