"""Backoff figures and the retry mover: only due retries move, each exactly once."""

from __future__ import annotations

import asyncio
import time

import pytest
from redis.asyncio import Redis

from tests.worker.helpers import Workers, entries, wait_until
from zapcrm.worker import Job, backoff_delay, dead_key, enqueue, retry_key
from zapcrm.worker._job import decode_job
from zapcrm.worker._retry import RetryPromoter, retry_member

STREAM = "test:jobs"


@pytest.mark.parametrize(("attempt", "expected"), [(0, 1.0), (1, 2.0), (3, 8.0), (6, 64.0)])
def test_backoff_doubles_per_attempt_within_twenty_percent(attempt: int, expected: float) -> None:
    delays = [backoff_delay(attempt, base_delay=1.0, max_delay=300.0) for _ in range(200)]
    assert all(expected * 0.8 <= delay <= expected * 1.2 for delay in delays)
    assert max(delays) - min(delays) > expected * 0.1  # jittered, not constant


def test_backoff_is_capped_by_max_delay_even_for_huge_attempts() -> None:
    assert backoff_delay(9, base_delay=1.0, max_delay=300.0) <= 300.0
    assert backoff_delay(10_000, base_delay=1.0, max_delay=300.0) <= 300.0


async def test_only_due_retries_move_back_with_their_attempt_and_origin(redis: Redis) -> None:
    now = time.time()
    await redis.zadd(
        retry_key(STREAM),
        {
            retry_member('{"n":1}', 1, "100-0"): now - 1,
            retry_member('{"n":2}', 3, "200-0"): now + 60,
        },
    )

    moved = await RetryPromoter(redis, STREAM).promote()

    assert moved == 1
    [(entry_id, fields)] = await entries(redis, STREAM)
    job = decode_job(STREAM, entry_id, fields)
    assert (job.payload, job.attempt, job.origin_id) == ({"n": 1}, 1, "100-0")
    assert await redis.zcard(retry_key(STREAM)) == 1


async def test_racing_movers_move_every_retry_exactly_once(redis: Redis) -> None:
    past = time.time() - 1
    await redis.zadd(
        retry_key(STREAM), {retry_member(f'{{"n":{n}}}', 1, f"{n}-0"): past for n in range(300)}
    )
    movers = [RetryPromoter(redis, STREAM) for _ in range(4)]

    counts = await asyncio.gather(*(mover.promote(limit=7) for mover in movers for _ in range(20)))

    assert sum(counts) == 300
    moved = await entries(redis, STREAM)
    assert sorted(decode_job(STREAM, i, f).payload["n"] for i, f in moved) == list(range(300))


async def test_a_member_that_is_not_an_entry_goes_to_the_dead_letters(redis: Redis) -> None:
    await redis.zadd(retry_key(STREAM), {"hand-written": time.time() - 1})

    assert await RetryPromoter(redis, STREAM).promote() == 1

    assert await redis.xlen(STREAM) == 0
    [(_, fields)] = await entries(redis, dead_key(STREAM))
    assert (fields["payload"], fields["error_type"]) == ("hand-written", "MalformedRetry")


async def test_handlers_learn_which_attempt_is_the_last(redis: Redis, workers: Workers) -> None:
    """A handler can record that it gives up before the runtime buries its job."""
    seen: list[tuple[int, int, bool]] = []

    async def handle(job: Job) -> None:
        seen.append((job.attempt, job.max_attempts, job.last_attempt))
        raise RuntimeError("still down")

    runtime = workers.runtime()
    runtime.register(STREAM, handler=handle, max_attempts=3, base_delay=0.0, max_delay=0.0)
    workers.start(runtime)
    await enqueue(redis, STREAM, {"n": 1})
    await wait_until(lambda: _dead(redis))

    assert seen == [(0, 3, False), (1, 3, False), (2, 3, True)]
    assert not Job(STREAM, "1-0", {}, attempt=5).last_attempt  # built outside a runtime


async def _dead(redis: Redis) -> bool:
    return int(await redis.xlen(dead_key(STREAM))) == 1
