"""One send at a time per instance, at a configured pace, across every worker process (Redis).

A worker's own queue already runs one job per instance at a time (`order_key`), but several
worker processes share the stream: the gate is a Redis lock per instance (redis-py's `Lock`,
token-checked release) held for the gateway call, plus a pace key set with `SET NX PX` when a
send starts, so the next one through that instance starts `send_min_interval_ms` later at the
earliest. The lock lives a short lease renewed while the call runs, so a worker that dies
holding it blocks its instance for one lease, not for the longest possible media upload.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator

from redis.asyncio import Redis
from redis.asyncio.lock import Lock
from redis.exceptions import LockError

from zapcrm.logging import get_logger

log = get_logger(__name__)

LEASE_SECONDS = 15.0
POLL_SECONDS = 0.02
# Past this wait another worker is stuck on a long call: the job is retried later instead.
WAIT_SECONDS = 60.0


class InstanceBusy(Exception):
    """The instance's send lock stayed taken for WAIT_SECONDS."""


def lock_key(instance_id: uuid.UUID | str) -> str:
    """The Redis key of an instance's send lock."""
    return f"evolution:send-lock:{instance_id}"


def pace_key(instance_id: uuid.UUID | str) -> str:
    """The Redis key whose TTL is the wait before the instance's next send may start."""
    return f"evolution:send-pace:{instance_id}"


class SendGate:
    """Admits one send at a time per instance, starts spaced by `min_interval_ms` (0 = no pace)."""

    def __init__(
        self, redis: Redis, *, min_interval_ms: int, wait_seconds: float = WAIT_SECONDS
    ) -> None:
        self.redis = redis
        self.min_interval_ms = min_interval_ms
        self.wait_seconds = wait_seconds

    @contextlib.asynccontextmanager
    async def turn(self, instance_id: uuid.UUID) -> AsyncIterator[None]:
        """Wait for the instance's turn and hold it for the body (the gateway call)."""
        lock = self.redis.lock(
            lock_key(instance_id),
            timeout=LEASE_SECONDS,
            sleep=POLL_SECONDS,
            blocking_timeout=self.wait_seconds,
            # Tasks of one thread share a thread-local token: each lock keeps its own.
            thread_local=False,
        )
        if not await lock.acquire():
            raise InstanceBusy(str(instance_id))
        # The keeper starts only once the lease is a third gone: a text send is over in
        # milliseconds, and a task created and cancelled for each one was CPU spent for nothing.
        loop = asyncio.get_running_loop()
        keeper: list[asyncio.Task[None]] = []
        timer = loop.call_later(
            LEASE_SECONDS / 3, lambda: keeper.append(loop.create_task(self._renew(lock)))
        )
        try:
            await self._pace(instance_id)
            yield
        finally:
            timer.cancel()
            for task in keeper:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            try:
                await lock.release()
            except LockError:  # the lease ran out (Redis stalled): someone may hold it now
                log.warning("send.lock_lost", instance_id=str(instance_id))

    @staticmethod
    async def _renew(lock: Lock) -> None:
        """Extend the lease while the call runs (a media upload may outlast it)."""
        while True:
            await lock.reacquire()
            await asyncio.sleep(LEASE_SECONDS / 3)

    async def _pace(self, instance_id: uuid.UUID) -> None:
        """Wait until the previous send's start is `min_interval_ms` old, then mark ours."""
        if self.min_interval_ms <= 0:
            return
        key = pace_key(instance_id)
        while not await self.redis.set(key, b"1", px=self.min_interval_ms, nx=True):
            remaining_ms = await self.redis.pttl(key)
            # -2: expired between the two calls; -1 cannot happen (always set with PX).
            await asyncio.sleep(max(remaining_ms, 1) / 1000)
