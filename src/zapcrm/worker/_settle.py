"""Settling finished runs: ack, retry or defer, or dead-letter, written in batches with the ack.

Every entry read is settled exactly once by its process: acknowledged after its handler
succeeded, or acknowledged together with its retry or dead letter in one MULTI. Outcomes wait
in a buffer that one task writes in a single round trip while the next ones accumulate, so
acks are batched under load without being delayed when the queue is quiet.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Sequence

from redis.asyncio import Redis
from redis.exceptions import ResponseError
from redis.typing import EncodableT, FieldT

from zapcrm.logging import get_logger
from zapcrm.worker import _metrics as metrics
from zapcrm.worker._config import Delivery, StreamConfig, Tally
from zapcrm.worker._dead import DEAD_MAXLEN, dead_letter_fields
from zapcrm.worker._job import (
    DeferJob,
    JobError,
    PermanentJobError,
    RetryJobLater,
    dead_key,
    retry_key,
)
from zapcrm.worker._retry import backoff_delay, retry_member

log = get_logger("zapcrm.worker")

_LOGGED_ERROR_CHARS = 200


class _Outcome:
    """One entry's settlement. `kind` says how it is counted: "done", "retry" (after a failed
    run), "deferred" (put back without spending an attempt), "handed_back" (never run) or
    "dead"."""

    __slots__ = ("dead", "entry_id", "kind", "retry")

    def __init__(
        self,
        entry_id: str,
        kind: str = "done",
        retry: tuple[str, float] | None = None,
        dead: dict[FieldT, EncodableT] | None = None,
    ) -> None:
        self.entry_id = entry_id
        self.kind = kind
        self.retry = retry
        self.dead = dead


class Settler:
    """Turns finished runs of one stream into acks, retries and dead letters."""

    def __init__(self, redis: Redis, config: StreamConfig, *, group: str, tally: Tally) -> None:
        self.owned: set[str] = set()  # delivered to this process and not yet acknowledged
        self._redis = redis
        self._config = config
        self._stream = config.stream
        self._group = group
        self._tally = tally
        self._retry_key = retry_key(config.stream)
        self._dead_key = dead_key(config.stream)
        self._outcomes: list[_Outcome] = []
        self._ready = asyncio.Event()
        self._finishing = False
        self._log = log.bind(stream=config.stream)

    def settle(
        self, delivery: Delivery, failure: BaseException | None, *, traceback: bool = True
    ) -> None:
        """Record a run's outcome: ack on success, else a retry or a dead letter."""
        job = delivery.job
        if failure is None:
            self._record(_Outcome(job.entry_id))
            return
        if isinstance(failure, DeferJob):
            self._log.info(
                "job.deferred",
                entry_id=job.entry_id,
                origin_id=job.origin_id,
                delay_seconds=round(failure.delay_seconds, 3),
                reason=str(failure)[:_LOGGED_ERROR_CHARS],
            )
            # The same attempt number: the run did nothing, so it spent nothing.
            self._put_back(delivery, time.time() + failure.delay_seconds, "deferred")
            return
        metrics.FAILED.labels(self._stream).inc()
        self._tally.failed += 1
        runs = job.attempt + 1
        if isinstance(failure, PermanentJobError) or runs >= self._config.max_attempts:
            self.bury(job.entry_id, delivery.raw_payload, failure, runs, job.origin_id, traceback)
            return
        if isinstance(failure, RetryJobLater):
            delay = failure.delay_seconds
        else:
            delay = backoff_delay(
                job.attempt, base_delay=self._config.base_delay, max_delay=self._config.max_delay
            )
        self._log.warning(
            "job.retry_scheduled",
            entry_id=job.entry_id,
            origin_id=job.origin_id,
            attempt=runs,
            delay_seconds=round(delay, 3),
            error_type=type(failure).__name__,
            error=str(failure)[:_LOGGED_ERROR_CHARS],
            # A traceback for our own bugs; JobErrors are decisions the handler already made.
            exc_info=failure if traceback and not isinstance(failure, JobError) else None,
        )
        member = retry_member(delivery.raw_payload, runs, job.origin_id)
        self._record(_Outcome(job.entry_id, "retry", retry=(member, time.time() + delay)))

    def bury(
        self,
        entry_id: str,
        raw_payload: str,
        error: BaseException,
        attempts: int,
        origin_id: str,
        traceback: bool = False,
    ) -> None:
        """Record that an entry goes to the dead letters (with its ack)."""
        self._log.error(
            "job.dead_lettered",
            entry_id=entry_id,
            origin_id=origin_id,
            attempts=attempts,
            error_type=type(error).__name__,
            error=str(error)[:_LOGGED_ERROR_CHARS],
            exc_info=error if traceback and not isinstance(error, JobError) else None,
        )
        fields = dead_letter_fields(
            raw_payload=raw_payload,
            error=error,
            attempts=attempts,
            entry_id=entry_id,
            origin_id=origin_id,
        )
        self._record(_Outcome(entry_id, "dead", dead=fields))

    def hand_back(self, deliveries: Sequence[Delivery]) -> None:
        """Give entries that never ran back to the stream, in this order and with their
        attempts unchanged: each is acknowledged with a copy due now in the retry set (the
        retry mover of any worker puts it back on the stream)."""
        now = time.time()
        for index, delivery in enumerate(deliveries):
            # A millisecond apart: the mover takes the due members in score order.
            self._put_back(delivery, now + index / 1000, "handed_back")

    def _put_back(self, delivery: Delivery, due: float, kind: str) -> None:
        """Acknowledge the entry with a copy due at `due` in the retry set, its attempts
        unchanged (`kind`: how the outcome is counted)."""
        job = delivery.job
        member = retry_member(delivery.raw_payload, job.attempt, job.origin_id)
        self._record(_Outcome(job.entry_id, kind, retry=(member, due)))

    def _record(self, outcome: _Outcome) -> None:
        self._outcomes.append(outcome)
        self._ready.set()

    def finish(self) -> None:
        """Let `run` return once every outcome recorded so far is written."""
        self._finishing = True
        self._ready.set()

    async def run(self) -> None:
        """Write outcomes as they come, until `finish` was called and nothing is left."""
        failures = 0
        while True:
            await self._ready.wait()
            self._ready.clear()
            try:
                await self.flush()
            except Exception as error:  # noqa: BLE001 - the outcomes were put back; retry
                failures += 1
                self._log.warning("queue.ack_failed", error=repr(error))
                # Not interruptible by stop: a shutdown must still write these acks.
                await asyncio.sleep(min(5.0, 0.05 * 2**failures))
                self._ready.set()
                continue
            failures = 0
            if self._finishing and not self._outcomes:
                return

    async def flush(self) -> None:
        """Write every recorded outcome in one MULTI: retries, dead letters, then the acks."""
        outcomes, self._outcomes = self._outcomes, []
        if not outcomes:
            return
        retries = {o.retry[0]: o.retry[1] for o in outcomes if o.retry is not None}
        dead = [o.dead for o in outcomes if o.dead is not None]
        ids = [o.entry_id for o in outcomes]
        try:
            # One MULTI: a retry or dead letter is never written without its ack, nor the
            # reverse, so a crash in between cannot run a job twice or lose it.
            async with self._redis.pipeline(transaction=True) as pipe:
                if retries:
                    pipe.zadd(self._retry_key, retries)
                for fields in dead:
                    pipe.xadd(self._dead_key, fields, maxlen=DEAD_MAXLEN, approximate=True)
                pipe.xack(self._stream, self._group, *ids)
                await pipe.execute()
        except ResponseError as error:
            # Redis answered, so EXEC ran what it could (NOGROUP after the stream was deleted):
            # writing again would duplicate retries and letters. Entries left pending are
            # reclaimed and run again, which handlers tolerate.
            self.owned.difference_update(ids)
            self._log.error("queue.settle_failed", entries=len(ids), error=repr(error))
            return
        except BaseException:
            # No answer: nothing is known to be written, keep the outcomes for the next try.
            self._outcomes[:0] = outcomes
            raise
        self.owned.difference_update(ids)
        # Counted by outcome: two runs of one job may share a retry member, never an outcome.
        kinds = Counter(o.kind for o in outcomes)
        self._tally.processed += kinds["done"]
        metrics.PROCESSED.labels(self._stream).inc(kinds["done"])
        for kind, counter in (
            ("retry", metrics.RETRIED),
            ("deferred", metrics.DEFERRED),
            ("dead", metrics.DEAD_LETTERED),
        ):
            if kinds[kind]:
                counter.labels(self._stream).inc(kinds[kind])
