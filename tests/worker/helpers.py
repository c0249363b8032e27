"""Test helpers for the queue runtime: starting runtimes as tasks, polling for a condition."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, cast

from redis.asyncio import Redis
from redis.exceptions import ConnectionError as RedisConnectionError

from zapcrm.worker import WorkerRuntime

GROUP = "zapcrm"
# Ticks small enough that retries, trims and heartbeats happen within a test's budget.
FAST: dict[str, Any] = {"heartbeat_ttl": 3.0, "retry_poll_interval": 0.02, "trim_interval": 0.1}


@dataclass
class Running:
    """A runtime running in a task, with the event that stops it."""

    runtime: WorkerRuntime
    stop: asyncio.Event
    task: asyncio.Task[None]

    async def shutdown(self, within: float = 10.0) -> None:
        """Ask for a graceful stop and wait for run() to return."""
        self.stop.set()
        await asyncio.wait_for(self.task, within)


class Workers:
    """Starts runtimes for a test and stops them all at its end."""

    def __init__(self, redis: Redis) -> None:
        self.redis = redis
        self._running: list[Running] = []

    def runtime(self, **options: Any) -> WorkerRuntime:
        """A runtime on the test DB with fast ticks (options override them)."""
        return WorkerRuntime(self.redis, **{**FAST, **options})

    def start(self, runtime: WorkerRuntime) -> Running:
        """Run the runtime in a task until shutdown."""
        stop = asyncio.Event()
        running = Running(runtime, stop, asyncio.create_task(runtime.run(stop)))
        self._running.append(running)
        return running

    async def stop_all(self, within: float = 30.0) -> None:
        """Stop every runtime still running (a failed test must not leak tasks): all asked at
        once, and any still running after `within` seconds (a loaded machine) cancelled and
        awaited before this fails, so no runtime outlives its test to recreate its consumer
        group in the next one's flushed Redis."""
        still = [running for running in self._running if not running.task.done()]
        for running in still:
            running.stop.set()
        tasks = [running.task for running in still]
        if not tasks:
            return
        _done, late = await asyncio.wait(tasks, timeout=within)
        for task in late:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if late:
            raise AssertionError(f"{len(late)} runtime(s) did not stop within {within}s")


async def wait_until(
    condition: Callable[[], Awaitable[bool] | bool], within: float = 5.0, interval: float = 0.01
) -> None:
    """Poll until the condition holds, failing the test after `within` seconds."""
    deadline = time.monotonic() + within
    while True:
        try:
            outcome = condition()
            if not isinstance(outcome, bool):
                outcome = await outcome
        except RedisConnectionError:
            outcome = False  # a connection the test dropped on purpose; the next poll redials
        if outcome:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {within}s")
        await asyncio.sleep(interval)


async def drop_connections(redis: Redis) -> None:
    """Kill every client connection to the test's Redis DB, as a Redis restart would."""
    # Only this DB's clients: the server is shared with other suites and the dev app.
    database = redis.connection_pool.connection_kwargs["db"]
    for client in await redis.client_list():
        if int(client["db"]) == database:
            await redis.client_kill_filter(_id=client["id"])


async def pending_count(redis: Redis, stream: str) -> int:
    """How many entries of the stream are delivered and not acknowledged."""
    summary = await redis.xpending(stream, GROUP)
    return int(summary["pending"])


async def entries(
    redis: Redis, key: str, count: int | None = None
) -> list[tuple[str, dict[str, str]]]:
    """A stream's entries, oldest first, typed as the decoded client returns them."""
    return cast(list[tuple[str, dict[str, str]]], await redis.xrange(key, count=count))


async def add_entry(redis: Redis, key: str, fields: dict[str, str], entry_id: str = "*") -> str:
    """XADD raw fields (bypassing enqueue) and return the entry id."""
    return cast(str, await redis.xadd(key, fields, id=entry_id))  # type: ignore[arg-type]
