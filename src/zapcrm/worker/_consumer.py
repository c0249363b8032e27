"""One registered stream inside a worker: read, dispatch to handlers, reclaim, keep leases.

Background loops per stream: the reader (XREADGROUP), the reclaimer (XAUTOCLAIM of entries
idle past claim_idle_ms), the retry mover, the trimmer, the lease keeper and the ack writer
(`Settler`). Reading is bounded: no more entries are held than the handlers can take. With an
order key, an entry waiting behind an earlier one of its key is parked: it waits for that key,
not for a handler, so it takes no read-ahead room (parked entries have a bound of their own).
Otherwise one key whose jobs are slow (an instance whose gateway hangs) would fill the room
with its backlog and stop the stream for every other key.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import time
from collections import deque
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import replace
from typing import Any, cast

import orjson
from redis.asyncio import Redis

from zapcrm.logging import get_logger
from zapcrm.worker import _metrics as metrics
from zapcrm.worker._config import BatchHandler, Delivery, StreamConfig, Tally
from zapcrm.worker._housekeeping import (
    ensure_group,
    forget_consumer_if_idle,
    is_nogroup,
    prune_stale_consumers,
    trim_acknowledged,
)
from zapcrm.worker._job import (
    PAYLOAD_FIELD,
    DeliveriesExhausted,
    Job,
    JobError,
    MalformedEntry,
    PermanentJobError,
    decode_job,
)
from zapcrm.worker._retry import RetryPromoter
from zapcrm.worker._settle import Settler

_Entries = list[tuple[str, dict[str, str]]]

log = get_logger("zapcrm.worker")

_PROMOTE_LIMIT = 500
# Entries held behind an earlier entry of their order key, at most (see the module docstring).
_PARK_LIMIT = 1000
# An `on_exhausted` hook gets this long; the entry's lease is kept meanwhile.
_HOOK_TIMEOUT = 60.0
_LEASE_CHUNK = 1000


def _entries(response: Any) -> _Entries:
    # XREADGROUP answers [[stream, entries]] in RESP2 and {stream: [entries]} in RESP3.
    if not response:
        return []
    if isinstance(response, dict):
        return cast(_Entries, next(iter(response.values()))[0])
    return cast(_Entries, response[0][1])


class StreamConsumer:
    """Consumes one stream for one WorkerRuntime until told to stop."""

    def __init__(
        self,
        redis: Redis,
        config: StreamConfig,
        *,
        group: str,
        consumer: str,
        tally: Tally,
        retry_poll_interval: float,
        trim_interval: float,
        stale_consumer_ms: int,
    ) -> None:
        self.config = config
        self._redis = redis
        self._stream = config.stream
        self._group = group
        self._consumer = consumer
        self._retry_poll_interval = retry_poll_interval
        self._trim_interval = trim_interval
        self._stale_consumer_ms = stale_consumer_ms
        self._settler = Settler(redis, config, group=group, tally=tally)
        self._owned = self._settler.owned  # read by us, not yet acknowledged
        self._promoter = RetryPromoter(redis, config.stream)
        self._stopping = asyncio.Event()
        self._drained = asyncio.Event()
        self._room = asyncio.Event()
        self._slots = asyncio.Semaphore(config.concurrency)
        # Entries read ahead of the handlers; a batch consumer keeps one batch per slot.
        if config.batch_handler is not None:
            self._limit = config.batch_size * config.concurrency
        else:
            self._limit = max(config.batch_size, config.concurrency)
        self._in_flight = 0
        self._parked = 0  # of those in flight, the ones waiting behind their key's running job
        self._jobs: set[asyncio.Task[None]] = set()
        self._key_queues: dict[str, deque[Delivery]] = {}
        self._loops: list[asyncio.Task[None]] = []
        self._lease: asyncio.Task[None] | None = None
        self._writer: asyncio.Task[None] | None = None
        self._claim_cursor = "0-0"
        # Where to resume reading our own pending list, or None once it was read through.
        self._history_cursor: str | None = "0-0"
        self._latency = metrics.HANDLER_SECONDS.labels(config.stream)
        self._log = log.bind(stream=config.stream)

    # -- lifecycle -----------------------------------------------------------------------

    async def ensure_group(self) -> None:
        """Create the consumer group (and the stream) unless it exists."""
        await ensure_group(self._redis, self._stream, self._group)

    def start(self) -> None:
        """Start the reader, reclaimer, retry mover, trimmer, lease keeper and ack writer."""
        loops: list[tuple[str, Callable[[], Awaitable[bool]], float]] = [
            ("read", self._read, 0.0),
            ("reclaim", self._reclaim, self.config.claim_idle_ms / 2000),
            ("retry", self._promote, self._retry_poll_interval),
        ]
        if self._trim_interval > 0:
            loops.append(("trim", self._tidy, self._trim_interval))
        self._loops = [
            asyncio.create_task(self._loop(name, step, self._stopping, pause))
            for name, step, pause in loops
        ]
        # Leases and acks outlive the readers: the jobs already read still finish.
        lease_pause = self.config.claim_idle_ms / 3000
        self._lease = asyncio.create_task(
            self._loop("lease", self._extend_leases, self._drained, lease_pause)
        )
        self._writer = asyncio.create_task(self._settler.run())

    def begin_stop(self) -> None:
        """Stop reading new entries; jobs already read keep running, except those parked
        behind their key's running job, which go back to the stream for the next worker."""
        self._stopping.set()
        self._room.set()
        self._hand_back_parked()

    def _hand_back_parked(self) -> None:
        # A slow key's backlog would otherwise hold the shutdown up, one slow job after another,
        # until shutdown_timeout cut it short (leaving the rest pending until claim_idle_ms, and
        # counting that delivery as an attempt of each).
        waiting: list[Delivery] = []
        for queue in self._key_queues.values():
            waiting += itertools.islice(queue, 1, None)  # in their key's order
            while len(queue) > 1:
                queue.pop()
        if not waiting:
            return
        self._parked -= len(waiting)
        self._in_flight -= len(waiting)
        self._settler.hand_back(waiting)
        self._log.info("queue.handed_back", count=len(waiting))

    async def drain(self) -> None:
        """Wait for the loops to stop and the jobs read to finish, then write every ack."""
        await asyncio.gather(*self._loops)
        self._hand_back_parked()  # parked by a read that was under way at the stop
        while self._jobs:
            await asyncio.wait(set(self._jobs))
        self._settler.finish()
        if self._writer is not None:
            await self._writer
        self._drained.set()
        if self._lease is not None:
            await self._lease

    async def abort(self) -> None:
        """Cancel everything; jobs cut short stay pending and another worker reclaims them."""
        tasks = [*self._jobs, *self._loops, *(t for t in (self._lease, self._writer) if t)]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        try:
            await asyncio.wait_for(self._settler.flush(), 2.0)
        except Exception as error:  # noqa: BLE001 - best effort: unacked entries are reclaimed
            self._log.warning("queue.final_flush_failed", error=repr(error))

    async def leave_group_if_idle(self) -> None:
        """Remove our consumer from the group unless it still holds pending entries."""
        await forget_consumer_if_idle(self._redis, self._stream, self._group, self._consumer)

    # -- loops ---------------------------------------------------------------------------

    async def _loop(
        self,
        name: str,
        step: Callable[[], Awaitable[bool]],
        until: asyncio.Event,
        pause: float,
    ) -> None:
        # A step returns True when more work is ready at once; errors back off and retry, so
        # a Redis restart or a deleted stream does not end the worker.
        failures = 0
        while not until.is_set():
            try:
                busy = await step()
                failures = 0
            except Exception as error:  # noqa: BLE001 - logged; the loop must outlive outages
                failures += 1
                # A read or claim whose answer was lost (a dropped connection) still gave us its
                # entries: they sit in our pending list, where only a read of our own history
                # gets them back sooner than claim_idle_ms. Cheap, so after any failed step.
                self._history_cursor = "0-0"
                self._log.warning("queue.loop_failed", loop=name, error=repr(error))
                if is_nogroup(error):
                    await self._recreate_group()
                await self._pause(until, min(5.0, 0.05 * 2**failures))
                continue
            if not busy and pause > 0:
                await self._pause(until, pause)

    async def _pause(self, until: asyncio.Event, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(until.wait(), seconds)

    async def _recreate_group(self) -> None:
        try:
            await self.ensure_group()
        except Exception as error:  # noqa: BLE001 - the failing loop retries with backoff
            self._log.warning("queue.group_create_failed", error=repr(error))

    def _room_left(self) -> int:
        """How many more entries may be read now: up to `_limit` waiting for a handler or
        running, parked ones apart (module docstring), as long as the park has room too."""
        waiting_for_handlers = self._in_flight - self._parked
        return min(self._limit - waiting_for_handlers, _PARK_LIMIT - self._parked)

    async def _wait_for_room(self) -> int:
        while not self._stopping.is_set():
            room = self._room_left()
            if room > 0:
                return min(room, self.config.batch_size)
            self._room.clear()
            await self._room.wait()
        return 0

    async def _read(self) -> bool:
        room = await self._wait_for_room()
        if room == 0:
            return False
        if self._history_cursor is not None:
            return await self._read_own_history(room)
        # The call blocks up to block_ms and is never cancelled: a cancelled read could strand
        # a delivered batch until claim_idle_ms passes, so a shutdown waits for it instead.
        response = await self._redis.xreadgroup(
            self._group, self._consumer, {self._stream: ">"}, count=room, block=self.config.block_ms
        )
        self._accept(_entries(response))
        return True

    async def _read_own_history(self, room: int) -> bool:
        """Take back entries delivered to this consumer name and never seen: a lost read
        answer, or a previous process under the same name. Ones still running are skipped."""
        assert self._history_cursor is not None
        response = await self._redis.xreadgroup(
            self._group, self._consumer, {self._stream: self._history_cursor}, count=room
        )
        entries = _entries(response)
        if not entries:
            self._history_cursor = None
            return True
        self._history_cursor = entries[-1][0]
        # An entry deleted from the stream comes back without fields: nothing left to run.
        gone = [entry_id for entry_id, fields in entries if fields is None]
        if gone:
            await self._redis.xack(self._stream, self._group, *gone)
        unseen = [
            (entry_id, fields)
            for entry_id, fields in entries
            if fields is not None and entry_id not in self._owned
        ]
        if unseen:
            self._log.info("queue.recovered_own", count=len(unseen))
            self._accept(unseen, await self._redeliveries(unseen))
        return True

    async def _reclaim(self) -> bool:
        room = self._room_left()
        if room <= 0:
            return False
        response = await self._redis.xautoclaim(
            self._stream,
            self._group,
            self._consumer,
            min_idle_time=self.config.claim_idle_ms,
            start_id=self._claim_cursor,
            count=min(room, self.config.batch_size),
        )
        self._claim_cursor = cast(str, response[0])
        claimed = [entry for entry in cast(_Entries, response[1]) if entry[0] not in self._owned]
        if claimed:
            metrics.RECLAIMED.labels(self._stream).inc(len(claimed))
            self._log.info("queue.reclaimed", count=len(claimed))
            self._accept(claimed, await self._redeliveries(claimed))
        return self._claim_cursor != "0-0"  # more of the pending list to scan

    async def _redeliveries(self, entries: _Entries) -> dict[str, int]:
        # XAUTOCLAIM and a history read do not say how often an entry was delivered; XPENDING
        # does. Each earlier delivery counts as a run, so a job that kills its workers ends dead.
        async with self._redis.pipeline(transaction=False) as pipe:
            for entry_id, _ in entries:
                pipe.xpending_range(self._stream, self._group, entry_id, entry_id, 1)
            details = await pipe.execute()
        return {
            rows[0]["message_id"]: max(0, int(rows[0]["times_delivered"]) - 1)
            for rows in details
            if rows
        }

    async def _promote(self) -> bool:
        return await self._promoter.promote(limit=_PROMOTE_LIMIT) >= _PROMOTE_LIMIT

    async def _extend_leases(self) -> bool:
        # Re-claiming our own entries resets their idle time (JUSTID leaves the delivery count
        # alone), so a handler slower than claim_idle_ms is not taken over and run twice.
        owned = list(self._owned)
        for start in range(0, len(owned), _LEASE_CHUNK):
            await self._redis.xclaim(
                self._stream,
                self._group,
                self._consumer,
                min_idle_time=0,
                message_ids=cast(list[Any], owned[start : start + _LEASE_CHUNK]),
                justid=True,
            )
        return False

    async def _tidy(self) -> bool:
        await trim_acknowledged(self._redis, self._stream)
        await prune_stale_consumers(self._redis, self._stream, self._group, self._stale_consumer_ms)
        return False

    # -- dispatch ------------------------------------------------------------------------

    def _accept(self, entries: _Entries, redeliveries: Mapping[str, int] | None = None) -> None:
        deliveries = []
        for entry_id, fields in entries:
            if entry_id in self._owned:
                continue
            self._owned.add(entry_id)
            raw = fields.get(PAYLOAD_FIELD)
            try:
                job = decode_job(self._stream, entry_id, fields)
            except MalformedEntry as error:
                raw = raw if raw is not None else orjson.dumps(fields).decode()
                self._settler.bury(entry_id, raw, error, attempts=0, origin_id=entry_id)
                continue
            assert raw is not None  # decode_job checked it
            extra = redeliveries.get(entry_id, 0) if redeliveries else 0
            job = replace(job, attempt=job.attempt + extra, max_attempts=self.config.max_attempts)
            if job.attempt >= self.config.max_attempts:
                exhausted = DeliveriesExhausted(
                    f"delivered {extra + 1} times without acknowledgement"
                )
                if self.config.on_exhausted is not None:
                    self._spawn(self._bury_exhausted(job, raw, exhausted))
                else:
                    self._settler.bury(entry_id, raw, exhausted, job.attempt, job.origin_id)
                continue
            deliveries.append(Delivery(job, raw))
        if not deliveries:
            return
        self._in_flight += len(deliveries)
        if self.config.batch_handler is not None:
            self._spawn(self._run_batch(self.config.batch_handler, deliveries))
            return
        for delivery in deliveries:
            self._dispatch(delivery)

    async def _bury_exhausted(self, job: Job, raw: str, error: DeliveriesExhausted) -> None:
        """Tell the stream's owner, then dead-letter; the hook runs before the ack, so a
        worker dying in it leaves the entry to be reclaimed and told again."""
        assert self.config.on_exhausted is not None
        try:
            await asyncio.wait_for(self.config.on_exhausted(job, error), _HOOK_TIMEOUT)
        except Exception as failure:  # noqa: BLE001 - the letter is written all the same
            self._log.warning(
                "queue.exhausted_hook_failed", entry_id=job.entry_id, error=repr(failure)
            )
        self._settler.bury(job.entry_id, raw, error, job.attempt, job.origin_id)

    def _dispatch(self, delivery: Delivery) -> None:
        job = delivery.job
        try:
            key = self.config.order_key(job.payload) if self.config.order_key else None
        except Exception as error:  # noqa: BLE001 - a payload order_key cannot read never will
            self._in_flight -= 1
            failure = PermanentJobError(f"order_key failed: {error!r}")
            self._settler.bury(
                job.entry_id, delivery.raw_payload, failure, job.attempt, job.origin_id
            )
            return
        if key is None:
            self._spawn(self._run_one(delivery))
        elif (queue := self._key_queues.get(key)) is not None:
            queue.append(delivery)  # the key's runner takes it after the earlier ones
            self._parked += 1
        else:
            queue = self._key_queues[key] = deque([delivery])
            self._spawn(self._run_key(key, queue))

    def _spawn(self, coroutine: Awaitable[None]) -> None:
        task = asyncio.ensure_future(coroutine)
        self._jobs.add(task)
        task.add_done_callback(self._jobs.discard)

    async def _run_key(self, key: str, queue: deque[Delivery]) -> None:
        try:
            while queue:
                await self._run_one(queue[0])
                queue.popleft()
                if queue:
                    self._parked -= 1  # the next one of the key waits for a handler now
        finally:
            del self._key_queues[key]

    async def _run_one(self, delivery: Delivery) -> None:
        handler = self.config.handler
        assert handler is not None
        try:
            async with self._slots:
                started = time.perf_counter()
                failure: Exception | None = None
                try:
                    await handler(delivery.job)
                except Exception as error:  # noqa: BLE001 - every handler failure is settled
                    failure = error
                self._latency.observe(time.perf_counter() - started)
            self._settler.settle(delivery, failure)
        finally:
            self._in_flight -= 1
            self._room.set()

    async def _run_batch(self, handler: BatchHandler, deliveries: list[Delivery]) -> None:
        try:
            async with self._slots:
                started = time.perf_counter()
                jobs = [delivery.job for delivery in deliveries]
                try:
                    failures = await handler(jobs)
                except Exception as error:  # noqa: BLE001 - the whole batch failed: retry each job
                    failures = {job.entry_id: error for job in jobs}
                self._latency.observe(time.perf_counter() - started)
            # One traceback per batch: a failing batch of 500 should not log 500 of them.
            traced = False
            for delivery in deliveries:
                failure = failures.get(delivery.job.entry_id)
                trace = failure is not None and not traced and not isinstance(failure, JobError)
                traced = traced or trace
                self._settler.settle(delivery, failure, traceback=trace)
        finally:
            self._in_flight -= len(deliveries)
            self._room.set()
