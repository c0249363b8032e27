"""Worker heartbeats: a hash `workers:<consumer>` with a TTL, indexed by the sorted set `workers`.

The index lets `live_workers` read every heartbeat without scanning the keyspace, which also
holds the caches. A killed worker's hash expires by itself; its index member is skipped, and
pruned once it is an hour old.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import cast

from redis.asyncio import Redis

WORKERS_INDEX = "workers"
# Far longer than any heartbeat TTL, so pruning never removes a worker that is still beating.
_INDEX_RETENTION_SECONDS = 3600.0


def heartbeat_key(consumer: str) -> str:
    """The key of one worker's heartbeat hash."""
    return f"{WORKERS_INDEX}:{consumer}"


@dataclass(frozen=True, slots=True)
class WorkerInfo:
    """What a live worker last said about itself."""

    consumer: str
    group: str
    streams: tuple[str, ...]
    host: str
    pid: int
    started_at: datetime
    last_beat: datetime
    processed: int
    failed: int


async def beat(
    redis: Redis,
    *,
    consumer: str,
    group: str,
    streams: Sequence[str],
    host: str,
    pid: int,
    started_at: datetime,
    processed: int,
    failed: int,
    ttl_seconds: float,
) -> None:
    """Write a worker's heartbeat, valid for `ttl_seconds`."""
    now = time.time()
    fields = {
        "consumer": consumer,
        "group": group,
        "streams": ",".join(streams),
        "host": host,
        "pid": str(pid),
        "started_at": started_at.isoformat(),
        "last_beat": datetime.fromtimestamp(now, UTC).isoformat(),
        "processed": str(processed),
        "failed": str(failed),
    }
    key = heartbeat_key(consumer)
    async with redis.pipeline(transaction=True) as pipe:
        pipe.hset(key, mapping=fields)  # type: ignore[arg-type]
        pipe.pexpire(key, max(1, int(ttl_seconds * 1000)))
        pipe.zadd(WORKERS_INDEX, {consumer: now})
        await pipe.execute()


async def remove_heartbeat(redis: Redis, consumer: str) -> None:
    """Delete a worker's heartbeat (graceful shutdown)."""
    async with redis.pipeline(transaction=True) as pipe:
        pipe.delete(heartbeat_key(consumer))
        pipe.zrem(WORKERS_INDEX, consumer)
        await pipe.execute()


def _parse(fields: Mapping[str, str]) -> WorkerInfo:
    return WorkerInfo(
        consumer=fields["consumer"],
        group=fields.get("group", ""),
        streams=tuple(name for name in fields.get("streams", "").split(",") if name),
        host=fields.get("host", ""),
        pid=int(fields.get("pid", 0)),
        started_at=datetime.fromisoformat(fields["started_at"]),
        last_beat=datetime.fromisoformat(fields["last_beat"]),
        processed=int(fields.get("processed", 0)),
        failed=int(fields.get("failed", 0)),
    )


async def live_workers(redis: Redis) -> list[WorkerInfo]:
    """The workers whose heartbeat has not expired, by consumer name."""
    await redis.zremrangebyscore(WORKERS_INDEX, "-inf", time.time() - _INDEX_RETENTION_SECONDS)
    consumers = cast(list[str], await redis.zrange(WORKERS_INDEX, 0, -1))
    if not consumers:
        return []
    async with redis.pipeline(transaction=False) as pipe:
        for consumer in consumers:
            pipe.hgetall(heartbeat_key(consumer))
        hashes: list[dict[str, str]] = await pipe.execute()
    return sorted((_parse(fields) for fields in hashes if fields), key=lambda info: info.consumer)
