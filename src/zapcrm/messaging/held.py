"""Sends held for a disconnected instance, marked in Redis until it reconnects.

A send whose instance is not connected stays `queued` and its job ends (sending.py rule 4).
When the instance's `connection.update` says open, the sends to queue again are those: every
other queued send still has a live job (waiting for the instance's turn, a retry, a deferral),
and a second job of its own would run it twice over (the first send wins, the rest are runs
for nothing). A marker is set before the send asks the gateway for the live state, so a
reconnection that lands in between still finds it.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import timedelta

from redis.asyncio import Redis

HELD_KEY_PREFIX = "evolution:send-held:"


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
