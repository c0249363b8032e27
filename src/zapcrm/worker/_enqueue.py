"""Adding jobs to a stream: one at a time, or a batch in one round trip (the outbox publisher)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, cast

from redis.asyncio import Redis

from zapcrm.worker._job import encode_payload, entry_fields


async def enqueue(
    redis: Redis, stream: str, payload: Mapping[str, Any], *, attempt: int = 0
) -> str:
    """Add one job to a stream and return its entry id."""
    entry_id = await redis.xadd(stream, entry_fields(encode_payload(payload), attempt))
    return cast(str, entry_id)


async def enqueue_many(redis: Redis, items: Sequence[tuple[str, Mapping[str, Any]]]) -> list[str]:
    """Add (stream, payload) jobs in one MULTI round trip and return their entry ids in order."""
    if not items:
        return []
    # MULTI so a batch is published whole or not at all; the outbox relay retries a failed batch.
    async with redis.pipeline(transaction=True) as pipe:
        for stream, payload in items:
            pipe.xadd(stream, entry_fields(encode_payload(payload), 0))
        ids = await pipe.execute()
    return cast(list[str], ids)
