"""Live events: one Redis pub/sub channel per company, filtered per reader by the SSE endpoint.

Each event says who may see it (`audience`: everyone of the company, or admins only) and, for
conversation events, the conversation's assignee and department, so an operator only receives
events of their own conversations and of the unassigned ones waiting where they take chats:
the same rule RLS applies to the rows (migration 0038). A chat that leaves a reader's sight
reaches them as `conversation.hidden`, its id and version only, so their list lets it go.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import Collection, Mapping
from typing import Any, Literal

import orjson
from redis.asyncio import ConnectionPool, Redis
from redis.asyncio.client import PubSub
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError

from zapcrm.auth.identity import Identity
from zapcrm.logging import get_logger
from zapcrm.models import Role

log = get_logger(__name__)

Audience = Literal["company", "supervisors", "admins"]

# What a reader gets when events may have been lost (the hub's Redis connection failed and was
# rebuilt: pub/sub keeps nothing for a subscriber that was away). The SSE endpoints end the
# stream on it, so the browser reconnects and the page reads again what it shows.
RESET_TYPE = "stream.reset"
RECONNECT_MS = 1000  # the SSE `retry` sent with a reset: reconnect soon, not at the default 3 s
HIDDEN_TYPE = "conversation.hidden"


def channel_for(company_id: uuid.UUID | str) -> str:
    """The pub/sub channel of a company's live events."""
    return f"realtime:company:{company_id}"


def encode_event(
    event_type: str,
    *,
    audience: Audience = "company",
    conversation_id: uuid.UUID | str | None = None,
    assignee_id: uuid.UUID | str | None = None,
    department_id: uuid.UUID | str | None = None,
    data: Mapping[str, Any] | None = None,
) -> str:
    """Serialise one live event."""
    return orjson.dumps(
        {
            "type": event_type,
            "audience": audience,
            "conversation_id": None if conversation_id is None else str(conversation_id),
            "assignee_id": None if assignee_id is None else str(assignee_id),
            "department_id": None if department_id is None else str(department_id),
            "data": dict(data or {}),
        }
    ).decode()


async def publish(redis: Redis, company_id: uuid.UUID | str, event: str) -> None:
    """Publish an encoded event to the company's channel."""
    await redis.publish(channel_for(company_id), event)


def visible_to(
    identity: Identity, event: Mapping[str, Any], waiting_in: Collection[str] = ()
) -> bool:
    """Whether this reader may receive the event (mirrors the RLS rules). `waiting_in`: the
    departments (ids as text) whose unassigned chats an operator takes; empty: all of them
    (messaging.service.inbox.waiting_scope)."""
    audience = event.get("audience", "company")
    if audience == "admins":
        return identity.role is Role.ADMIN
    if audience == "supervisors":
        return identity.has_role(Role.SUPERVISOR)
    if event.get("conversation_id") is None or identity.has_role(Role.SUPERVISOR):
        return True
    assignee = event.get("assignee_id")
    if assignee is not None:
        return bool(assignee == str(identity.user_id))
    department = event.get("department_id")
    return department is None or not waiting_in or department in waiting_in


def hidden(event: Mapping[str, Any]) -> dict[str, Any] | None:
    """What a reader who may not see a changed conversation gets instead: its id and version,
    so a list that showed it lets it go (None for any other event)."""
    if event.get("type") != "conversation.updated" or event.get("conversation_id") is None:
        return None
    conversation = (event.get("data") or {}).get("conversation") or {}
    return {
        "type": HIDDEN_TYPE,
        "audience": "company",
        "conversation_id": event["conversation_id"],
        "assignee_id": None,
        "department_id": None,
        "data": {"version": conversation.get("version")},
    }


class RealtimeHub:
    """One Redis subscription per process, fanned out to every SSE reader of that process.

    A pub/sub connection per browser tab would drain the Redis pool; here each company channel
    is subscribed once, with a reference count, and readers get their own bounded queue (a
    reader too slow to keep up is reset, see `_offer`, rather than stalling everyone else).
    """

    def __init__(self, redis: Redis, *, queue_size: int = 256) -> None:
        self._redis = redis
        self._queue_size = queue_size
        self._readers: dict[str, set[asyncio.Queue[dict[str, Any]]]] = {}
        self._pubsub: PubSub | None = None
        self._task: asyncio.Task[None] | None = None
        self._lock = asyncio.Lock()
        # A channel of this hub alone, subscribed for the pub/sub connection's whole life.
        # redis-py health-checks a connection that has no subscription with a PING whose answer
        # it reads in the task that subscribes, while the pump task reads the same socket:
        # two readers on one connection. With this channel the connection always has one.
        self._anchor = f"realtime:hub:{uuid.uuid4()}"

    async def subscribe(self, company_id: uuid.UUID) -> asyncio.Queue[dict[str, Any]]:
        """A queue receiving the company's events until `unsubscribe`."""
        channel = channel_for(company_id)
        queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue(self._queue_size)
        async with self._lock:
            if not self._readers:
                # An idle hub's connection may have died unnoticed (Redis restarted, a dropped
                # socket); the pump would then tell this new reader to reset, for a loss from
                # before it came. Nothing published meanwhile concerns it: start afresh.
                await self._stop_pump()
                await self._disconnect()
            if self._pubsub is None:
                await self._connect()
            assert self._pubsub is not None
            if channel not in self._readers:
                # Registered once Redis took it: a failed SUBSCRIBE must not leave a channel
                # that later readers believe is subscribed.
                try:
                    await self._pubsub.subscribe(channel)
                except (OSError, RedisError):
                    # The connection died while no reader was there to notice: a new one.
                    await self._disconnect()
                    await self._connect()
                    assert self._pubsub is not None
                    await self._pubsub.subscribe(channel)
                self._readers[channel] = set()
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
                    with contextlib.suppress(OSError, RedisError):  # the pump sees it too
                        await self._pubsub.unsubscribe(channel)

    async def _connect(self) -> None:
        """A fresh pub/sub connection subscribed to the anchor and every channel with readers
        (called with the lock held).

        The connection is the hub's own, without redis-py's retries: on a dropped pub/sub
        connection redis-py reconnected inside them but kept failing its reads ("closed by
        server" on every retry), and a pooled connection handed back after a failure could
        come back deaf. Any failure reaches the pump, which tells the readers (whatever was
        published meanwhile is gone) and builds a new connection from scratch."""
        shared = self._redis.connection_pool
        pool = ConnectionPool(
            connection_class=shared.connection_class,
            max_connections=1,
            **{**shared.connection_kwargs, "retry": Retry(NoBackoff(), 0)},
        )
        pubsub = Redis(connection_pool=pool).pubsub(ignore_subscribe_messages=True)
        try:
            await pubsub.subscribe(self._anchor, *self._readers)
        except BaseException:
            await _close_quietly(pubsub)
            raise
        self._pubsub = pubsub

    async def _stop_pump(self) -> None:
        task, self._task = self._task, None
        if task is not None and not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _disconnect(self) -> None:
        pubsub, self._pubsub = self._pubsub, None
        if pubsub is not None:
            await _close_quietly(pubsub)

    async def _pump(self) -> None:
        failures = 0
        while self._readers:
            try:
                if self._pubsub is None:
                    async with self._lock:
                        if self._pubsub is None:  # a reader may have connected meanwhile
                            await self._connect()
                assert self._pubsub is not None
                message = await self._pubsub.get_message(timeout=1.0)
            except Exception as error:  # noqa: BLE001 - whatever broke, the pump must live on
                # A silent death would leave every open stream of this process quiet (its
                # keepalives still flowing) until some new reader restarted the pump.
                failures += 1
                log.warning("realtime.pump_error", error_type=type(error).__name__)
                self._deliver_to_all({"type": RESET_TYPE})
                async with self._lock:
                    await self._disconnect()
                await asyncio.sleep(min(0.1 * 2**failures, 5))
                continue
            failures = 0
            if message is None or message.get("type") != "message":
                continue
            try:
                event = orjson.loads(message["data"])
            except orjson.JSONDecodeError:
                continue
            for queue in list(self._readers.get(message["channel"], ())):
                _offer(queue, event)

    def _deliver_to_all(self, event: dict[str, Any]) -> None:
        for readers in self._readers.values():
            for queue in readers:
                _offer(queue, event)

    async def close(self) -> None:
        """Stop the pump and close the subscription."""
        self._readers.clear()
        await self._stop_pump()
        await self._disconnect()


async def _close_quietly(pubsub: PubSub) -> None:
    """Close a hub connection and the private pool it came from."""
    with contextlib.suppress(Exception):
        await pubsub.aclose()  # type: ignore[no-untyped-call]
    with contextlib.suppress(Exception):
        await pubsub.connection_pool.disconnect()


def _offer(queue: asyncio.Queue[dict[str, Any]], event: dict[str, Any]) -> None:
    """Queue an event. A reader too slow to keep up (its client stopped reading) is not sent
    what happens to fit: its backlog is replaced by a reset, so its page reads everything
    again when it reconnects, instead of silently missing the events dropped to make room."""
    if queue.full():
        while not queue.empty():
            queue.get_nowait()
        queue.put_nowait({"type": RESET_TYPE})
        return
    queue.put_nowait(event)


def is_reset(event: Mapping[str, Any]) -> bool:
    """Whether the hub says events may have been lost (see RESET_TYPE)."""
    return event.get("type") == RESET_TYPE
