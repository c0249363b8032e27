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

Both walk every waiting send a page at a time: read as one page of the oldest 1,000, a
reconnection left the sends held behind the first 1,000 waiting (they failed at HOLD_LIMIT),
and the sweeper looked at the same 1,000 on every round and never at the rest. A reconnection
walks its instance's sends to the end; the sweeper walks at most `SWEEP_PER_ROUND` a round and
goes on where it stopped on the next (`SWEEP_CURSOR_KEY`).
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from redis.asyncio import Redis

from zapcrm.db import Database
from zapcrm.messaging.repository.outbound import WaitingSend, queued_messages
from zapcrm.messaging.service.outbound import OUTGOING_STREAM

HELD_KEY_PREFIX = "evolution:send-held:"
REQUEUED_KEY_PREFIX = "evolution:send-requeued:"
# Where the sweeper's walk over the waiting sends stopped: "<created_at>|<message>|<instance>".
SWEEP_CURSOR_KEY = "evolution:send-sweep-cursor"
SWEEP_PAGE = 1000
SWEEP_PER_ROUND = 10_000
# A cursor left by a sweeper that stopped sweeping (no worker for a while) is not worth keeping:
# the walk starts over from the oldest.
_CURSOR_TTL_SECONDS = 3600

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


async def held_jobs(
    db: Database, redis: Redis, instance_id: uuid.UUID
) -> list[tuple[str, Mapping[str, Any]]]:
    """The jobs of every send held for this instance, their markers taken (it reconnected)."""
    jobs: list[tuple[str, Mapping[str, Any]]] = []
    # The reconnection itself says open: do not trust the stored state, which a concurrent
    # older delivery may have overwritten (the sender checks live).
    async for page in _walk(db, instance_id=instance_id, require_open=False):
        held = await take_held(redis, [send.message_id for send in page])
        jobs += send_jobs((message, instance_id) for message in held)
    return jobs


async def sweep_waiting(
    db: Database, redis: Redis, *, older_than: datetime, per_round: int = SWEEP_PER_ROUND
) -> list[WaitingSend]:
    """The next sends (up to `per_round`) of the sweeper's walk over those waiting on a
    connected instance since before `older_than`; the walk goes on from there next round, and
    starts over from the oldest once it has seen the last."""
    after = _cursor(await redis.get(SWEEP_CURSOR_KEY))
    seen: list[WaitingSend] = []
    async for page in _walk(db, after=after, budget=per_round, older_than=older_than):
        seen += page
    if len(seen) < per_round:  # the walk saw the last one
        await redis.delete(SWEEP_CURSOR_KEY)
    else:
        await redis.set(SWEEP_CURSOR_KEY, _cursor_value(seen[-1]), ex=_CURSOR_TTL_SECONDS)
    return seen


async def _walk(
    db: Database,
    *,
    after: WaitingSend | None = None,
    budget: int | None = None,
    **only: Any,
) -> AsyncIterator[list[WaitingSend]]:
    """The waiting sends after `after` (`queued_messages` narrowed by `only`), a page at a
    time, oldest first, until the last one or `budget` sends."""
    left = budget
    while left is None or left > 0:
        want = SWEEP_PAGE if left is None else min(SWEEP_PAGE, left)
        async with db.service_session() as session:
            page = await queued_messages(session, after=after, limit=want, **only)
        yield page
        if len(page) < want:
            return
        after = page[-1]
        if left is not None:
            left -= len(page)


def _cursor_value(send: WaitingSend) -> str:
    return f"{send.created_at.isoformat()}|{send.message_id}|{send.instance_id}"


def _cursor(value: str | bytes | None) -> WaitingSend | None:
    if value is None:
        return None
    text = value.decode() if isinstance(value, bytes) else value
    try:
        created_at, message, instance = text.split("|")
        return WaitingSend(
            uuid.UUID(message), uuid.UUID(instance), datetime.fromisoformat(created_at)
        )
    except ValueError:  # not ours or from another version: start over
        return None


async def not_requeued_lately(
    redis: Redis, waiting: Sequence[WaitingSend], again_after: timedelta
) -> list[WaitingSend]:
    """The sends the sweeper did not queue again within `again_after`, now marked as queued."""
    if not waiting:
        return []
    lease_ms = max(1, int(again_after.total_seconds() * 1000))
    async with redis.pipeline(transaction=False) as pipe:
        for send in waiting:
            pipe.set(f"{REQUEUED_KEY_PREFIX}{send.message_id}", "1", nx=True, px=lease_ms)
        fresh = await pipe.execute()
    return [send for send, first in zip(waiting, fresh, strict=True) if first]
