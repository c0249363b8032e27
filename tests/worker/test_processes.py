"""Real worker processes: one SIGKILLed mid-batch loses nothing, one SIGTERMed finishes its jobs."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from redis.asyncio import Redis

from tests.worker.helpers import Workers, entries, pending_count, wait_until
from zapcrm.worker import Job, dead_key, enqueue_many, live_workers

STREAM = "test:process"
SCRIPT = Path(__file__).with_name("crash_worker.py")

pytestmark = pytest.mark.slow


def _spawn(redis_url: str, consumer: str, sleep_seconds: float) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, str(SCRIPT), redis_url, STREAM, consumer, str(sleep_seconds)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


async def _members(redis: Redis, key: str) -> set[int]:
    return {int(member) for member in await redis.smembers(key)}


async def _wait_exit(process: subprocess.Popen[bytes]) -> int:
    return await asyncio.wait_for(asyncio.to_thread(process.wait), 10)


async def test_jobs_of_a_worker_killed_mid_batch_are_reclaimed_and_all_done(
    redis: Redis, workers: Workers, worker_redis_url: str
) -> None:
    await enqueue_many(redis, [(STREAM, {"n": n}) for n in range(30)])
    victim = _spawn(worker_redis_url, "victim", sleep_seconds=60)
    try:
        # 10 entries read (batch_size), 5 of them running (concurrency): then the kill.
        await wait_until(lambda: _count_reaches(redis, f"{STREAM}:started", 5), within=10)
        await wait_until(lambda: _pending_is(redis, STREAM, 10))
    finally:
        victim.send_signal(signal.SIGKILL)
        await _wait_exit(victim)
    assert [w.consumer for w in await live_workers(redis)] == ["victim"]  # until its TTL ends
    stranded = {entry_id for entry_id, _ in await entries(redis, STREAM, count=10)}

    done: dict[int, Job] = {}

    async def handle(job: Job) -> None:
        assert job.payload["n"] not in done, "a job ran twice in the rescuing worker"
        done[job.payload["n"]] = job

    rescuer = workers.runtime(consumer_name="rescuer")
    rescuer.register(STREAM, handler=handle, block_ms=50, claim_idle_ms=200)
    workers.start(rescuer)

    await wait_until(lambda: len(done) == 30)
    await wait_until(lambda: _pending_is(redis, STREAM, 0))
    assert set(done) == set(range(30))
    reclaimed = {job.entry_id for job in done.values() if job.attempt == 1}
    assert reclaimed == stranded  # the killed run counts as an attempt
    assert await redis.xlen(dead_key(STREAM)) == 0
    assert not await _members(redis, f"{STREAM}:done")  # the victim finished nothing
    await wait_until(lambda: _workers_are(redis, ["rescuer"]), within=3)  # heartbeat expired


async def test_sigterm_stops_reading_and_finishes_the_jobs_already_read(
    redis: Redis, worker_redis_url: str
) -> None:
    await enqueue_many(redis, [(STREAM, {"n": n}) for n in range(30)])
    worker = _spawn(worker_redis_url, "graceful", sleep_seconds=0.4)
    await wait_until(lambda: _count_reaches(redis, f"{STREAM}:started", 5), within=10)

    worker.send_signal(signal.SIGTERM)
    code = await _wait_exit(worker)

    assert code == 0, worker.stderr.read().decode() if worker.stderr else ""
    assert await _members(redis, f"{STREAM}:done") == set(range(10))  # the batch it had read
    [info] = await redis.xinfo_groups(STREAM)
    assert (info["pending"], info["lag"], info["consumers"]) == (0, 20, 0)
    assert await live_workers(redis) == []


async def _count_reaches(redis: Redis, key: str, count: int) -> bool:
    return await redis.scard(key) >= count


async def _pending_is(redis: Redis, stream: str, count: int) -> bool:
    return await pending_count(redis, stream) == count


async def _workers_are(redis: Redis, consumers: list[str]) -> bool:
    return [w.consumer for w in await live_workers(redis)] == consumers
