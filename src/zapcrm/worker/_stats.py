"""Figures of the queues for supervisors and /metrics: length, backlog, pending, retries, dead."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import ResponseError

from zapcrm.worker import _metrics as metrics
from zapcrm.worker._job import dead_key, entry_time, retry_key

_COMMANDS_PER_STREAM = 5


@dataclass(frozen=True, slots=True)
class StreamStats:
    """One stream's figures for one consumer group at one moment."""

    stream: str
    length: int
    waiting: int | None
    pending: int
    oldest_pending_seconds: float | None
    retry_scheduled: int
    dead: int
    consumers: int


def _or_empty(result: Any, empty: Any) -> Any:
    # A stream nobody wrote yet has no key and no group: Redis answers with an error, we with 0.
    if isinstance(result, ResponseError):
        return empty
    if isinstance(result, BaseException):
        raise result
    return result


async def queue_stats(
    redis: Redis, streams: Sequence[str], group: str = "zapcrm"
) -> list[StreamStats]:
    """Length, waiting (lag), pending, oldest pending age, retries, dead letters and consumers."""
    async with redis.pipeline(transaction=False) as pipe:
        for stream in streams:
            pipe.xlen(stream)
            pipe.xinfo_groups(stream)
            pipe.xpending(stream, group)
            pipe.zcard(retry_key(stream))
            pipe.xlen(dead_key(stream))
        results = await pipe.execute(raise_on_error=False)
    now = time.time()
    stats = []
    for index, stream in enumerate(streams):
        chunk = results[index * _COMMANDS_PER_STREAM : (index + 1) * _COMMANDS_PER_STREAM]
        length = int(_or_empty(chunk[0], 0))
        groups = _or_empty(chunk[1], [])
        summary = _or_empty(chunk[2], {})
        ours = next((info for info in groups if info.get("name") == group), None)
        # Redis reports no lag after deletions it cannot account for; a missing group has
        # delivered nothing, so everything is waiting.
        waiting = length if ours is None else ours.get("lag")
        oldest = summary.get("min")
        stats.append(
            StreamStats(
                stream=stream,
                length=length,
                waiting=None if waiting is None else int(waiting),
                pending=int(summary.get("pending", 0)),
                oldest_pending_seconds=max(0.0, now - entry_time(oldest)) if oldest else None,
                retry_scheduled=int(_or_empty(chunk[3], 0)),
                dead=int(_or_empty(chunk[4], 0)),
                consumers=int(ours["consumers"]) if ours else 0,
            )
        )
    return stats


async def update_queue_metrics(
    redis: Redis, streams: Sequence[str], group: str = "zapcrm"
) -> list[StreamStats]:
    """Refresh the zapcrm_queue_* gauges from `queue_stats` (call it before serving /metrics)."""
    stats = await queue_stats(redis, streams, group)
    for figures in stats:
        stream = figures.stream
        metrics.LENGTH.labels(stream).set(figures.length)
        if figures.waiting is not None:
            metrics.WAITING.labels(stream).set(figures.waiting)
        metrics.PENDING.labels(stream).set(figures.pending)
        metrics.OLDEST_PENDING.labels(stream).set(figures.oldest_pending_seconds or 0.0)
        metrics.RETRY_SCHEDULED.labels(stream).set(figures.retry_scheduled)
        metrics.DEAD.labels(stream).set(figures.dead)
        metrics.CONSUMERS.labels(stream).set(figures.consumers)
    return stats
