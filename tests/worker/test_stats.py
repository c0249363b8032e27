"""queue_stats figures on a hand-built queue; the gauges and counters /metrics exposes."""

from __future__ import annotations

import time

from prometheus_client import REGISTRY
from redis.asyncio import Redis

from tests.worker.helpers import GROUP, Workers, wait_until
from zapcrm.worker import (
    Job,
    PermanentJobError,
    enqueue,
    enqueue_many,
    queue_stats,
    retry_key,
    update_queue_metrics,
)
from zapcrm.worker._dead import dead_letter_fields
from zapcrm.worker._job import dead_key, entry_fields

STREAM = "test:stats"


async def _build_queue(redis: Redis) -> None:
    """5 entries (the first 10 s old), 2 of them pending, 3 waiting, 3 retries, 2 dead."""
    await redis.xgroup_create(STREAM, GROUP, id="0", mkstream=True)
    ten_seconds_ago = int((time.time() - 10) * 1000)
    await redis.xadd(STREAM, entry_fields('{"n":0}', 0), id=f"{ten_seconds_ago}-0")
    await enqueue_many(redis, [(STREAM, {"n": n}) for n in range(1, 5)])
    await redis.xreadgroup(GROUP, "busy-worker", {STREAM: ">"}, count=2)
    await redis.zadd(retry_key(STREAM), {"r1": 1.0, "r2": 2.0, "r3": 3.0})
    for n in range(2):
        fields = dead_letter_fields(
            raw_payload="{}", error=ValueError("x"), attempts=8, entry_id=f"{n}-1", origin_id="0-1"
        )
        await redis.xadd(dead_key(STREAM), fields)


async def test_queue_stats_reports_every_figure(redis: Redis) -> None:
    await _build_queue(redis)

    [stats] = await queue_stats(redis, [STREAM])

    assert (stats.stream, stats.length, stats.waiting, stats.pending) == (STREAM, 5, 3, 2)
    assert stats.oldest_pending_seconds is not None
    assert 9.5 <= stats.oldest_pending_seconds <= 12
    assert (stats.retry_scheduled, stats.dead, stats.consumers) == (3, 2, 1)


async def test_queue_stats_of_streams_never_used_are_zero(redis: Redis) -> None:
    await enqueue(redis, "test:no-group", {"n": 1})  # a stream no worker has read yet

    unused, no_group = await queue_stats(redis, ["test:unused", "test:no-group"])

    assert (unused.length, unused.waiting, unused.pending, unused.consumers) == (0, 0, 0, 0)
    assert unused.oldest_pending_seconds is None
    assert (no_group.length, no_group.waiting, no_group.pending) == (1, 1, 0)


async def test_update_queue_metrics_sets_the_gauges(redis: Redis) -> None:
    await _build_queue(redis)

    await update_queue_metrics(redis, [STREAM])

    def gauge(name: str) -> float | None:
        return REGISTRY.get_sample_value(name, {"stream": STREAM})

    assert gauge("zapcrm_queue_length") == 5
    assert gauge("zapcrm_queue_waiting") == 3
    assert gauge("zapcrm_queue_pending") == 2
    assert (gauge("zapcrm_queue_oldest_pending_seconds") or 0) >= 9.5
    assert gauge("zapcrm_queue_retry_scheduled") == 3
    assert gauge("zapcrm_queue_dead_letters") == 2
    assert gauge("zapcrm_queue_consumers") == 1


async def test_counters_follow_what_happens_to_jobs(redis: Redis, workers: Workers) -> None:
    stream = f"test:counters:{time.monotonic_ns()}"  # fresh labels: counters are process-wide

    async def handle(job: Job) -> None:
        if job.payload["n"] == 0 and job.attempt == 0:
            raise TimeoutError("once")
        if job.payload["n"] == 1:
            raise PermanentJobError("never")

    runtime = workers.runtime()
    runtime.register(stream, handler=handle, block_ms=50, base_delay=0.01)
    workers.start(runtime)
    await enqueue_many(redis, [(stream, {"n": n}) for n in range(4)])

    def counter(name: str) -> float:
        return REGISTRY.get_sample_value(name, {"stream": stream}) or 0.0

    await wait_until(lambda: counter("zapcrm_queue_processed_total") == 3)
    assert counter("zapcrm_queue_failed_total") == 2
    assert counter("zapcrm_queue_retried_total") == 1
    assert counter("zapcrm_queue_dead_lettered_total") == 1
    assert counter("zapcrm_queue_handler_seconds_count") == 5
