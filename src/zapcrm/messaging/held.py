"""Queuing waiting sends again: those held for a disconnected instance, marked in Redis until it
reconnects, and the sweeper's, at most once per interval.

A send whose instance is not connected stays `queued` and its job ends (sending.py rule 4).
When the instance's `connection.update` says open, the sends to queue again are those: every
other queued send still has a live job (waiting for the instance's turn, a retry, a deferral),
and a second job of its own would run it twice over (the first send wins, the rest are runs
for nothing). A marker is set before the send asks the gateway for the live state, so a
reconnection that lands in between still finds it.

The sweeper (sending.py `requeue_held`) is the safety net of a send whose job is gone; a
marker per send it queued keeps it from queuing one again on every round.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping, Sequence
from datetime import timedelta
from typing import Any

from redis.asyncio import Redis

from zapcrm.messaging.service.outbound import OUTGOING_STREAM

HELD_KEY_PREFIX = "evolution:send-held:"
REQUEUED_KEY_PREFIX = "evolution:send-requeued:"

Send = tuple[uuid.UUID, uuid.UUID]  # (message id, instance id)


def send_jobs(sends: Iterable[Send]) -> list[tuple[str, Mapping[str, Any]]]:
    """The send worker's jobs that queue these sends again (for `enqueue_many`)."""
    return [
        (OUTGOING_STREAM, {"message_id": str(message), "instance_id": str(instance)})
        for message, instance in sends
    ]


def held_key(message_id: uuid.UUID) -> str:
    """The marker of a send held for its instance's reconnection."""
    return f"{HELD_KEY_PREFIX}{message_id}"


async def mark_held(redis: Redis, message_id: uuid.UUID, lasts: timedelta) -> None:
    """The send waits for its instance to connect (for `lasts` at most: its hold limit)."""
    await redis.set(held_key(message_id), "1", ex=max(1, int(lasts.total_seconds())))


async def unmark_held(redis: Redis, message_id: uuid.UUID) -> None:
    """The send does not wait any more (the instance was connected after all)."""
    await redis.delete(held_key(message_id))


async def take_held(redis: Redis, message_ids: Sequence[uuid.UUID]) -> list[uuid.UUID]:
    """The sends among `message_ids` that were held, their markers removed."""
    if not message_ids:
        return []
    async with redis.pipeline(transaction=False) as pipe:
        for message_id in message_ids:
            pipe.delete(held_key(message_id))
        removed = await pipe.execute()
    return [message_id for message_id, gone in zip(message_ids, removed, strict=True) if gone]


async def not_requeued_lately(
    redis: Redis, waiting: Sequence[Send], again_after: timedelta
) -> list[Send]:
    """The sends the sweeper did not queue again within `again_after`, now marked as queued."""
    if not waiting:
        return []
    lease_ms = max(1, int(again_after.total_seconds() * 1000))
    async with redis.pipeline(transaction=False) as pipe:
        for message, _instance in waiting:
            pipe.set(f"{REQUEUED_KEY_PREFIX}{message}", "1", nx=True, px=lease_ms)
        fresh = await pipe.execute()
    return [send for send, first in zip(waiting, fresh, strict=True) if first]
