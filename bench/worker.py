"""Throughput of the queue runtime against a raw XREADGROUP + XACK loop over the same items.

    .venv/bin/python bench/worker.py [--items 50000] [--batch-size 200] [--concurrency 4]

Every item does what the cache-refresh worker does: SET a JSON snapshot with a TTL and PUBLISH
it to a company channel, pipelined per batch. Both consumers get the same pre-enqueued items
in the same run; a third figure shows a per-job handler (one SET + PUBLISH round trip per job).
Uses the Redis DB of BENCH_REDIS_URL (default DB 12) and deletes every key it wrote.
Goal (DESIGN.md §2, §7): the runtime moves >= 5,000 items/s with a batch handler.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import time
from collections.abc import Mapping, Sequence
from typing import Any, cast

import orjson
from redis.asyncio import Redis

from zapcrm.config import load_settings
from zapcrm.logging import configure_logging
from zapcrm.redis import create_redis
from zapcrm.worker import Job, WorkerRuntime, enqueue_many

REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/12")
GOAL_ITEMS_PER_SECOND = 5_000
GROUP = "bench"
SNAPSHOT_TTL_SECONDS = 300


def _payload(n: int) -> dict[str, Any]:
    # Shaped like an incoming-message job: ids, a preview and a timestamp.
    return {
        "company_id": "7d6f0c1e-2f55-4d1a-9d61-5b8f3c2a1e00",
        "conversation_id": n,
        "message_id": f"3EB0{n:016X}",
        "preview": "Olá, gostaria de saber o horário de funcionamento",
        "message_timestamp": 1_767_225_600 + n,
    }


class CacheWriter:
    """What the cache-refresh worker does per item, pipelined for a whole batch."""

    def __init__(self, redis: Redis, prefix: str) -> None:
        self._redis = redis
        self._prefix = prefix

    def stage(self, pipe: Any, payload: Mapping[str, Any]) -> None:
        """Queue the SET of the snapshot and the PUBLISH of the live event on a pipeline."""
        snapshot = orjson.dumps(payload)
        conversation = payload["conversation_id"]
        pipe.set(f"{self._prefix}:conversation:{conversation}", snapshot, ex=SNAPSHOT_TTL_SECONDS)
        pipe.publish(f"{self._prefix}:realtime:company:{payload['company_id']}", snapshot)

    async def write_batch(self, jobs: Sequence[Job]) -> Mapping[str, BaseException]:
        """The batch handler: one round trip for the whole batch, no failures."""
        async with self._redis.pipeline(transaction=False) as pipe:
            for job in jobs:
                self.stage(pipe, job.payload)
            await pipe.execute()
        return {}

    async def write_one(self, job: Job) -> None:
        """The per-job handler: one round trip per job."""
        async with self._redis.pipeline(transaction=False) as pipe:
            self.stage(pipe, job.payload)
            await pipe.execute()


async def _fill(redis: Redis, stream: str, items: int) -> float:
    started = time.perf_counter()
    for start in range(0, items, 1000):
        chunk = range(start, min(items, start + 1000))
        await enqueue_many(redis, [(stream, _payload(n)) for n in chunk])
    return items / (time.perf_counter() - started)


async def raw_loop(redis: Redis, writer: CacheWriter, stream: str, items: int, batch: int) -> float:
    """Items/s of a bare XREADGROUP loop that does the work and XACKs in the same pipeline."""
    await redis.xgroup_create(stream, GROUP, id="0")
    started = time.perf_counter()
    done = 0
    while done < items:
        response: Any = await redis.xreadgroup(GROUP, "raw", {stream: ">"}, count=batch, block=1000)
        entries = cast(list[tuple[str, dict[str, str]]], response[0][1]) if response else []
        async with redis.pipeline(transaction=False) as pipe:
            for _, fields in entries:
                writer.stage(pipe, orjson.loads(fields["payload"]))
            pipe.xack(stream, GROUP, *(entry_id for entry_id, _ in entries))
            await pipe.execute()
        done += len(entries)
    return items / (time.perf_counter() - started)


async def through_runtime(
    redis: Redis, writer: CacheWriter, stream: str, items: int, **options: Any
) -> float:
    """Items/s through WorkerRuntime, from run() until every item is acknowledged."""
    runtime = WorkerRuntime(redis, group=GROUP, consumer_name=f"bench-{secrets.token_hex(3)}")
    runtime.register(stream, block_ms=100, **options)
    stop = asyncio.Event()
    started = time.perf_counter()
    task = asyncio.create_task(runtime.run(stop))
    # processed counts acknowledged jobs, the end point we time; it has no event to wait on.
    while runtime.processed < items:  # noqa: ASYNC110
        await asyncio.sleep(0.002)
    elapsed = time.perf_counter() - started
    stop.set()
    await task
    return items / elapsed


async def _delete_prefix(redis: Redis, prefix: str) -> int:
    deleted = 0
    keys: list[str] = []
    async for key in redis.scan_iter(match=f"{prefix}:*", count=1000):
        keys.append(key)
        if len(keys) >= 1000:
            deleted += await redis.unlink(*keys)
            keys.clear()
    if keys:
        deleted += await redis.unlink(*keys)
    return deleted


async def main(items: int, batch_size: int, concurrency: int) -> None:
    """Run the three consumers on fresh streams and print the figures."""
    configure_logging(load_settings(log_level="warning", log_format="console"))
    redis = create_redis(load_settings(redis_url=REDIS_URL))
    prefix = f"bench:worker:{secrets.token_hex(4)}"
    writer = CacheWriter(redis, prefix)
    per_job_items = min(items, 20_000)
    try:
        fill_rate = await _fill(redis, f"{prefix}:raw", items)
        await _fill(redis, f"{prefix}:batch", items)
        await _fill(redis, f"{prefix}:per-job", per_job_items)

        raw = await raw_loop(redis, writer, f"{prefix}:raw", items, batch_size)
        batched = await through_runtime(
            redis,
            writer,
            f"{prefix}:batch",
            items,
            batch_handler=writer.write_batch,
            batch_size=batch_size,
            concurrency=concurrency,
        )
        per_job = await through_runtime(
            redis,
            writer,
            f"{prefix}:per-job",
            per_job_items,
            handler=writer.write_one,
            batch_size=batch_size,
            concurrency=32,
        )
    finally:
        deleted = await _delete_prefix(redis, prefix)
        await redis.aclose()

    print(f"items: {items:,} (per-job: {per_job_items:,}), batch size {batch_size}")
    print(f"enqueue_many (1,000 per call):        {fill_rate:>9,.0f} items/s")
    print(f"raw XREADGROUP + XACK loop:           {raw:>9,.0f} items/s")
    print(f"WorkerRuntime, batch handler (c={concurrency}):  {batched:>9,.0f} items/s")
    print(f"WorkerRuntime, per-job handler (c=32): {per_job:>8,.0f} items/s")
    print(f"runtime / raw: {batched / raw:.2f}")
    verdict = "met" if batched >= GOAL_ITEMS_PER_SECOND else "NOT met"
    print(f"goal: >= {GOAL_ITEMS_PER_SECOND:,} items/s with a batch handler: {verdict}")
    print(f"cleaned up {deleted} keys under {prefix}:*")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=50_000)
    parser.add_argument("--batch-size", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=4)
    arguments = parser.parse_args()
    asyncio.run(main(arguments.items, arguments.batch_size, arguments.concurrency))
