"""What a registration says: handler types, a stream's settings, and the shared counters."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from zapcrm.worker._job import Job

Handler = Callable[[Job], Awaitable[None]]
BatchHandler = Callable[[Sequence[Job]], Awaitable[Mapping[str, BaseException]]]
OrderKey = Callable[[Mapping[str, Any]], str | None]
# Awaited before an entry whose deliveries ran out unacknowledged goes to the dead letters.
ExhaustedHook = Callable[[Job, BaseException], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class StreamConfig:
    """How one stream is consumed (see `WorkerRuntime.register`)."""

    stream: str
    handler: Handler | None
    batch_handler: BatchHandler | None
    concurrency: int
    batch_size: int
    block_ms: int
    max_attempts: int
    base_delay: float
    max_delay: float
    claim_idle_ms: int
    order_key: OrderKey | None
    on_exhausted: ExhaustedHook | None = None

    def __post_init__(self) -> None:
        if (self.handler is None) == (self.batch_handler is None):
            raise ValueError(f"{self.stream}: give exactly one of handler and batch_handler")
        if self.order_key is not None and self.batch_handler is not None:
            raise ValueError(f"{self.stream}: order_key needs a per-job handler")
        if min(self.concurrency, self.batch_size, self.max_attempts) < 1:
            raise ValueError(f"{self.stream}: concurrency, batch_size, max_attempts must be >= 1")
        if self.block_ms < 1 or self.claim_idle_ms < 1:
            raise ValueError(f"{self.stream}: block_ms and claim_idle_ms must be >= 1")
        if self.base_delay < 0 or self.max_delay < self.base_delay:
            raise ValueError(f"{self.stream}: need 0 <= base_delay <= max_delay")


@dataclass(slots=True)
class Tally:
    """Process-wide counts reported in the heartbeat."""

    processed: int = 0
    failed: int = 0


@dataclass(slots=True)
class Delivery:
    """A job read from the stream, with its payload text kept as read for retries and letters."""

    job: Job
    raw_payload: str
