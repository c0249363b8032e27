"""The worker's schedule loop: a failing step does not end it, a full batch runs again at once,
and `stop` ends the wait at once."""

from __future__ import annotations

import asyncio
import time

from zapcrm.kit.periodic import every


async def test_a_failing_step_is_followed_by_the_next_one() -> None:
    stop = asyncio.Event()
    calls: list[int] = []

    async def step() -> None:
        calls.append(len(calls))
        if len(calls) == 1:
            raise ConnectionError("Postgres away")
        if len(calls) == 3:
            stop.set()

    await asyncio.wait_for(every(0.01, stop, step, failure="test.step_failed"), 5)
    assert calls == [0, 1, 2]


async def test_a_full_batch_runs_again_without_waiting_and_stop_cuts_the_wait() -> None:
    stop = asyncio.Event()
    batches = [500, 500, 3]

    async def step() -> int:
        return batches.pop(0) if batches else 0

    started = time.monotonic()
    task = asyncio.create_task(
        every(60, stop, step, failure="test.step_failed", again=lambda done: done == 500)
    )
    while batches:  # the two full batches and the last one, none waiting a minute
        await asyncio.sleep(0.01)
        assert time.monotonic() - started < 5
    stop.set()  # ends the minute's wait after the last, short batch
    await asyncio.wait_for(task, 5)
