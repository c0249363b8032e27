"""A test's live worker runs the jobs that test queued, before the worker started too, and none
of the jobs earlier tests of the process left in its streams.

The jobs here are entries whose payload is not JSON: whichever way the worker takes one (read
new, taken over from a vanished worker, moved back from the retry set), it sends it to the dead
letters at once without calling a handler, and its payload there says which it was.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Sequence
from typing import Any, cast

import pytest
from redis.asyncio import Redis
from redis.exceptions import ResponseError

from zapcrm.runtime import Runtime
from zapcrm.worker import dead_letters, retry_key
from zapcrm.worker._retry import retry_member
from zapcrm.worker.main import build_worker

VANISHED = "vanished-worker"
# Idle far beyond the worker's claim_idle_ms, so a worker takes the entry over at its start.
LONG_IDLE_MS = 3_600_000

Rows = list[dict[str, Any]]


async def leave_jobs(redis: Redis, streams: Sequence[str], group: str, label: str) -> set[str]:
    """Leave on each stream an entry a worker took and never acknowledged, an entry nobody
    read yet and a retry already due; returns their payloads."""
    payloads: set[str] = set()
    for stream in streams:
        taken, waiting, retry = (f"{label} {kind} {stream}" for kind in ("taken", "new", "retry"))
        await redis.xadd(stream, {"payload": taken})
        try:
            await redis.xgroup_create(stream, group, id="0", mkstream=True)
        except ResponseError as error:
            if not str(error).startswith("BUSYGROUP"):  # else a worker created it already
                raise
        # The vanished worker read every entry nobody had read (this one among them): the next
        # worker can only take it over, once it has been idle past claim_idle_ms.
        await redis.xreadgroup(group, VANISHED, {stream: ">"})
        held = cast(Rows, await redis.xpending_range(stream, group, "-", "+", 10_000, VANISHED))
        ids = [row["message_id"] for row in held]
        await redis.xclaim(stream, group, VANISHED, 0, ids, idle=LONG_IDLE_MS, justid=True)
        await redis.xadd(stream, {"payload": waiting})
        member = retry_member(retry, 1, origin_id="")
        await redis.zadd(retry_key(stream), {member: time.time() - 1})
        payloads |= {taken, waiting, retry}
    return payloads


@pytest.fixture(scope="module")
async def left_by_an_earlier_test(runtime: Runtime) -> set[str]:
    """Jobs left in every stream of the worker before the test began, as an earlier test
    leaves them (a module fixture is set up before any function fixture of the test)."""
    worker = build_worker(runtime)
    return await leave_jobs(
        runtime.redis, worker.streams, worker.group, f"earlier-{uuid.uuid4().hex[:8]}"
    )


@pytest.fixture(scope="module")
async def left_before_an_own_worker(runtime: Runtime) -> set[str]:
    """The same, for the one test that uses it: set up only when that test starts, after the
    other tests here emptied the streams."""
    worker = build_worker(runtime)
    return await leave_jobs(
        runtime.redis, worker.streams, worker.group, f"earlier-{uuid.uuid4().hex[:8]}"
    )


@pytest.fixture
async def queued_before_the_worker(runtime: Runtime) -> set[str]:
    """Jobs this test's fixtures leave in every stream before its worker starts."""
    worker = build_worker(runtime)
    return await leave_jobs(
        runtime.redis, worker.streams, worker.group, f"own-{uuid.uuid4().hex[:8]}"
    )


async def until_dead_lettered(runtime: Runtime, payloads: set[str]) -> set[str]:
    """Every dead-lettered payload of the worker's streams, once `payloads` are among them."""
    found: set[str] = set()
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        found = set()
        for stream in build_worker(runtime).streams:
            letters = await dead_letters(runtime.redis, stream, count=1000)
            found |= {letter.raw_payload for letter in letters}
        if payloads <= found:
            return found
        await asyncio.sleep(0.1)
    raise AssertionError(f"never taken by the worker: {sorted(payloads - found)}")


async def test_the_jobs_queued_before_the_worker_started_are_run(
    queued_before_the_worker: set[str], live_worker: None, runtime: Runtime
) -> None:
    await until_dead_lettered(runtime, queued_before_the_worker)


async def test_the_jobs_earlier_tests_left_are_not_run(
    left_by_an_earlier_test: set[str],
    queued_before_the_worker: set[str],
    live_worker: None,
    runtime: Runtime,
) -> None:
    # The worker takes entries in id order and due retries in due order, so once this test's
    # jobs (queued after the earlier ones) are taken, the earlier ones would have been too.
    taken = await until_dead_lettered(runtime, queued_before_the_worker)
    assert not taken & left_by_an_earlier_test, sorted(taken & left_by_an_earlier_test)


@pytest.mark.runs_worker
async def test_a_test_running_its_own_worker_starts_from_empty_streams_too(
    left_before_an_own_worker: set[str], runtime: Runtime
) -> None:
    """As `test_alerts` does: the whole worker, started by the test itself."""
    worker = build_worker(runtime)
    own = await leave_jobs(
        runtime.redis, worker.streams, worker.group, f"own-{uuid.uuid4().hex[:8]}"
    )
    stop = asyncio.Event()
    running = asyncio.create_task(worker.run(stop))
    try:
        taken = await until_dead_lettered(runtime, own)
    finally:
        stop.set()
        await asyncio.wait_for(running, timeout=30)
    assert not taken & left_before_an_own_worker, sorted(taken & left_before_an_own_worker)
