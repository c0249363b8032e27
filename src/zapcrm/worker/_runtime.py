"""The worker process's runtime: register stream handlers, run them until told to stop."""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import signal
import socket
from datetime import UTC, datetime

from redis.asyncio import Redis

from zapcrm.logging import get_logger
from zapcrm.worker._config import (
    BatchHandler,
    ExhaustedHook,
    Handler,
    OrderKey,
    StreamConfig,
    Tally,
)
from zapcrm.worker._consumer import StreamConsumer
from zapcrm.worker._heartbeat import beat, remove_heartbeat

log = get_logger("zapcrm.worker")


def default_consumer_name() -> str:
    """A consumer name unique to this process: host, pid and a random suffix."""
    # The suffix keeps a restarted container that reuses a pid from inheriting a dead
    # consumer's identity (and its pending entries) by accident.
    return f"{socket.gethostname()}-{os.getpid()}-{secrets.token_hex(3)}"


class WorkerRuntime:
    """Consumes registered Redis streams through one consumer group, with retries and leases."""

    def __init__(
        self,
        redis: Redis,
        *,
        group: str = "zapcrm",
        consumer_name: str | None = None,
        heartbeat_ttl: float = 30.0,
        retry_poll_interval: float = 0.25,
        trim_interval: float = 5.0,
        stale_consumer_ms: int = 3_600_000,
        shutdown_timeout: float = 30.0,
    ) -> None:
        if not redis.connection_pool.connection_kwargs.get("decode_responses"):
            raise ValueError("WorkerRuntime needs a client with decode_responses=True")
        self._redis = redis
        self.group = group
        self.consumer_name = consumer_name or default_consumer_name()
        self._heartbeat_ttl = heartbeat_ttl
        self._retry_poll_interval = retry_poll_interval
        self._trim_interval = trim_interval
        self._stale_consumer_ms = stale_consumer_ms
        self._shutdown_timeout = shutdown_timeout
        self._configs: dict[str, StreamConfig] = {}
        self._tally = Tally()
        self._running = False
        self._started_at = datetime.now(UTC)

    @property
    def streams(self) -> tuple[str, ...]:
        """The registered streams, in registration order."""
        return tuple(self._configs)

    @property
    def processed(self) -> int:
        """Jobs this runtime has handled and acknowledged."""
        return self._tally.processed

    def register(
        self,
        stream: str,
        *,
        handler: Handler | None = None,
        batch_handler: BatchHandler | None = None,
        concurrency: int = 4,
        batch_size: int = 100,
        block_ms: int = 1000,
        max_attempts: int = 8,
        base_delay: float = 1.0,
        max_delay: float = 300.0,
        claim_idle_ms: int = 60_000,
        order_key: OrderKey | None = None,
        on_exhausted: ExhaustedHook | None = None,
    ) -> None:
        """Consume `stream` with a per-job handler or a batch handler (exactly one of them).

        `concurrency` bounds simultaneous handler calls (jobs, or batches); `order_key` maps a
        payload to a key whose jobs run one at a time in stream order within this process.
        A job runs at most `max_attempts` times; `block_ms` must stay below the client's
        socket timeout. Handlers see their last attempt (`Job.last_attempt`); an entry whose
        deliveries ran out with no handler outcome (its workers died or stalled each time) is
        passed to `on_exhausted` before it is dead-lettered, so its owner can record the loss.
        """
        if self._running:
            raise RuntimeError("register streams before run()")
        if stream in self._configs:
            raise ValueError(f"stream {stream!r} is already registered")
        self._configs[stream] = StreamConfig(
            stream=stream,
            handler=handler,
            batch_handler=batch_handler,
            concurrency=concurrency,
            batch_size=batch_size,
            block_ms=block_ms,
            max_attempts=max_attempts,
            base_delay=base_delay,
            max_delay=max_delay,
            claim_idle_ms=claim_idle_ms,
            order_key=order_key,
            on_exhausted=on_exhausted,
        )

    async def run(self, stop: asyncio.Event) -> None:
        """Consume every registered stream until `stop` is set, then shut down gracefully.

        Graceful means: stop reading, let the jobs already read finish (up to
        shutdown_timeout), write their acks, remove the heartbeat and the idle consumer.
        """
        if self._running:
            raise RuntimeError("this runtime is already running")
        if not self._configs:
            raise RuntimeError("register at least one stream before run()")
        self._running = True
        self._started_at = datetime.now(UTC)
        consumers = [
            StreamConsumer(
                self._redis,
                config,
                group=self.group,
                consumer=self.consumer_name,
                tally=self._tally,
                retry_poll_interval=self._retry_poll_interval,
                trim_interval=self._trim_interval,
                stale_consumer_ms=self._stale_consumer_ms,
            )
            for config in self._configs.values()
        ]
        started: list[StreamConsumer] = []
        heartbeat: asyncio.Task[None] | None = None
        graceful = False
        try:
            for consumer in consumers:
                await consumer.ensure_group()
            await self._beat()
            heartbeat = asyncio.create_task(self._heartbeat_loop())
            for consumer in consumers:
                consumer.start()
                started.append(consumer)
            log.info("worker.started", consumer=self.consumer_name, streams=list(self.streams))
            await stop.wait()
            log.info("worker.stopping", consumer=self.consumer_name)
            await self._drain(started)
            graceful = True
        finally:
            if not graceful:  # cancelled or failed: nothing is waited for
                for consumer in started:
                    await consumer.abort()
            if heartbeat is not None:
                heartbeat.cancel()
                await asyncio.gather(heartbeat, return_exceptions=True)
            if graceful:
                await self._leave(started)
            self._running = False

    async def _drain(self, consumers: list[StreamConsumer]) -> None:
        for consumer in consumers:
            consumer.begin_stop()
        try:
            await asyncio.wait_for(
                asyncio.gather(*(consumer.drain() for consumer in consumers)),
                self._shutdown_timeout,
            )
        except TimeoutError:
            # Jobs cut short stay pending under our name; another worker reclaims them.
            log.warning("worker.shutdown_timeout", consumer=self.consumer_name)
            for consumer in consumers:
                await consumer.abort()

    async def _leave(self, consumers: list[StreamConsumer]) -> None:
        try:
            await remove_heartbeat(self._redis, self.consumer_name)
            for consumer in consumers:
                await consumer.leave_group_if_idle()
        except Exception as error:  # noqa: BLE001 - the heartbeat expires, the consumer is pruned
            log.warning("worker.leave_failed", error=repr(error))
        log.info("worker.stopped", consumer=self.consumer_name, processed=self._tally.processed)

    async def _beat(self) -> None:
        await beat(
            self._redis,
            consumer=self.consumer_name,
            group=self.group,
            streams=self.streams,
            host=socket.gethostname(),
            pid=os.getpid(),
            started_at=self._started_at,
            processed=self._tally.processed,
            failed=self._tally.failed,
            ttl_seconds=self._heartbeat_ttl,
        )

    async def _heartbeat_loop(self) -> None:
        while True:
            await asyncio.sleep(self._heartbeat_ttl / 3)
            try:
                await self._beat()
            except Exception as error:  # noqa: BLE001 - a missed beat is retried at the next one
                log.warning("worker.heartbeat_failed", error=repr(error))


def install_signal_handlers(stop: asyncio.Event) -> None:
    """Set `stop` on the first SIGTERM or SIGINT; a second signal gets its default action."""
    loop = asyncio.get_running_loop()

    def on_signal(signum: signal.Signals) -> None:
        log.info("worker.signal", signal=signum.name)
        stop.set()
        # Removing the handlers restores the defaults, so a second Ctrl-C still kills a
        # worker whose shutdown hangs.
        for each in (signal.SIGTERM, signal.SIGINT):
            with contextlib.suppress(ValueError, RuntimeError):
                loop.remove_signal_handler(each)

    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, on_signal, signum)
