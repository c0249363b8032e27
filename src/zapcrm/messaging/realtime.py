"""Live events: one Redis pub/sub channel per company, filtered per reader by the SSE endpoint.

Each event says who may see it (`audience`: everyone of the company, or admins only) and, for
conversation events, the conversation's assignee, so an operator only receives events of
their own and unassigned conversations — the same rule RLS applies to the rows.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import Mapping
from typing import Any, Literal

import orjson
from redis.asyncio import Redis
from redis.asyncio.client import PubSub
from redis.exceptions import RedisError

from zapcrm.auth.identity import Identity
from zapcrm.logging import get_logger
from zapcrm.models import Role

log = get_logger(__name__)

Audience = Literal["company", "supervisors", "admins"]


def channel_for(company_id: uuid.UUID | str) -> str:
    """The pub/sub channel of a company's live events."""
    return f"realtime:company:{company_id}"


def encode_event(
    event_type: str,
    *,
    audience: Audience = "company",
    conversation_id: uuid.UUID | str | None = None,
    assignee_id: uuid.UUID | str | None = None,
    data: Mapping[str, Any] | None = None,
) -> str:
    """Serialise one live event."""
    return orjson.dumps(
        {
            "type": event_type,
            "audience": audience,
            "conversation_id": None if conversation_id is None else str(conversation_id),
            "assignee_id": None if assignee_id is None else str(assignee_id),
            "data": dict(data or {}),
        }
    ).decode()


async def publish(redis: Redis, company_id: uuid.UUID | str, event: str) -> None:
    """Publish an encoded event to the company's channel."""
    await redis.publish(channel_for(company_id), event)


def visible_to(identity: Identity, event: Mapping[str, Any]) -> bool:
    """Whether this reader may receive the event (mirrors the RLS rules)."""
    audience = event.get("audience", "company")
    if audience == "admins":
        return identity.role is Role.ADMIN
    if audience == "supervisors":
        return identity.has_role(Role.SUPERVISOR)
    if event.get("conversation_id") is None or identity.has_role(Role.SUPERVISOR):
        return True
    assignee = event.get("assignee_id")
    return assignee is None or assignee == str(identity.user_id)


class RealtimeHub:
    """One Redis subscription per process, fanned out to every SSE reader of that process.

    A pub/sub connection per browser tab would drain the Redis pool; here each company channel
    is subscribed once, with a reference count, and readers get their own bounded queue (a
    reader too slow to keep up loses old events rather than stalling everyone else).
    """

    def __init__(self, redis: Redis, *, queue_size: int = 256) -> None:
        self._redis = redis
        self._queue_size = queue_size
        self._readers: dict[str, set[asyncio.Queue[dict[str, Any]]]] = {}
        self._pubsub: PubSub | None = None
        self._task: asyncio.Task[None] | None = None
        self._lock = asyncio.Lock()

    async def subscribe(self, company_id: uuid.UUID) -> asyncio.Queue[dict[str, Any]]:
        """A queue receiving the company's events until `unsubscribe`."""
        channel = channel_for(company_id)
        queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue(self._queue_size)
        async with self._lock:
            if self._pubsub is None:
                self._pubsub = self._redis.pubsub(ignore_subscribe_messages=True)
            if channel not in self._readers:
                self._readers[channel] = set()
                await self._pubsub.subscribe(channel)
            self._readers[channel].add(queue)
            if self._task is None or self._task.done():
                self._task = asyncio.get_running_loop().create_task(self._pump())
        return queue

    async def unsubscribe(
        self, company_id: uuid.UUID, queue: asyncio.Queue[dict[str, Any]]
    ) -> None:
        """Stop delivering to `queue`; the last reader of a company drops the subscription."""
        channel = channel_for(company_id)
        async with self._lock:
            readers = self._readers.get(channel)
            if readers is None:
                return
            readers.discard(queue)
            if not readers:
                del self._readers[channel]
                if self._pubsub is not None:
                    await self._pubsub.unsubscribe(channel)

    async def _pump(self) -> None:
        assert self._pubsub is not None
        while self._readers:
            try:
                message = await self._pubsub.get_message(timeout=1.0)
            except (OSError, RedisError) as error:
                log.warning("realtime.pump_error", error_type=type(error).__name__)
                await asyncio.sleep(1)
                continue
            if message is None or message.get("type") != "message":
                continue
            try:
                event = orjson.loads(message["data"])
            except orjson.JSONDecodeError:
                continue
            for queue in list(self._readers.get(message["channel"], ())):
                if queue.full():
                    queue.get_nowait()
                queue.put_nowait(event)

    async def close(self) -> None:
        """Stop the pump and close the subscription."""
        self._readers.clear()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._pubsub is not None:
            await self._pubsub.aclose()  # type: ignore[no-untyped-call]
