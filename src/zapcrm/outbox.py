"""Transactional outbox: queue entries written with the data, published after commit.

`record` adds rows in the caller's transaction; `OutboxPublisher.publish` pushes them to their
Redis streams right after commit and deletes them in the background; `relay` republishes what a
crash or a Redis outage left behind. Nothing is lost when Redis is away, nothing is queued for
rolled-back data; consumers are idempotent, so a rare double publication is harmless.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import orjson
from redis.asyncio import Redis
from redis.exceptions import RedisError
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from zapcrm.db import Database, driver_rows
from zapcrm.kit.periodic import every
from zapcrm.logging import get_logger

log = get_logger(__name__)

INCOMING_STREAM = "evolution:incoming-messages"
PAYLOAD_FIELD = "payload"
# Rows younger than this are still being published by the request that wrote them.
RELAY_GRACE_SECONDS = 5


@dataclass(frozen=True, slots=True)
class OutboxItem:
    """One entry to publish: the stream and its JSON payload; `after_commit`, fields its
    publication right after the commit adds to the payload, not written to its row (what was
    true at the commit, which a copy the relay publishes later must not claim)."""

    stream: str
    payload: Mapping[str, Any]
    after_commit: Mapping[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class RecordedEntry:
    """An outbox row written in the current transaction."""

    id: int
    stream: str
    payload: Mapping[str, Any]

    def carrying(self, fields: Mapping[str, Any]) -> RecordedEntry:
        """The entry as published right after its commit, with `fields` added to the payload
        its row holds (`OutboxItem.after_commit`)."""
        return replace(self, payload={**self.payload, **fields})


# Through a definer function so that a request under RLS can write (and learn the ids of) its
# entries without being allowed to read the outbox (migration 0007).
_ENQUEUE = text(
    "select id, stream, payload from app.enqueue_outbox(:company_id, cast(:items as jsonb))"
)
_DELETE_PUBLISHED = text("delete from outbox where id = any(:ids)")


def items_json(items: Sequence[OutboxItem]) -> str:
    """The entries as `app.enqueue_outbox` takes them (its `p_items`), for a statement that
    writes them together with other work (see `record`)."""
    return orjson.dumps(
        [{"stream": item.stream, "payload": dict(item.payload)} for item in items]
    ).decode()


async def record(
    session: AsyncSession, company_id: object, items: Sequence[OutboxItem]
) -> list[RecordedEntry]:
    """Write outbox rows in the caller's transaction."""
    if not items:
        return []
    rows = await driver_rows(
        session, _ENQUEUE, {"company_id": company_id, "items": items_json(items)}
    )
    entries = [RecordedEntry(id=row[0], stream=row[1], payload=row[2]) for row in rows]
    if len(entries) == len(items):
        # The rows come back in the order of the items; an entry whose row does not say the
        # same as its item goes without its extra fields (they are only ever a shortcut).
        entries = [
            entry.carrying(item.after_commit)
            if item.after_commit
            and (entry.stream, entry.payload) == (item.stream, dict(item.payload))
            else entry
            for entry, item in zip(entries, items, strict=True)
        ]
    return entries


def _fields(entry: RecordedEntry) -> dict[str, str]:
    payload = {**entry.payload, "outbox_id": entry.id}
    return {PAYLOAD_FIELD: orjson.dumps(payload).decode()}


class OutboxPublisher:
    """Publishes committed outbox rows and deletes them in batches off the request path."""

    def __init__(self, db: Database, redis: Redis, *, flush_interval: float = 0.05) -> None:
        self._db = db
        self._redis = redis
        self._flush_interval = flush_interval
        self._published: list[int] = []
        self._task: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()

    async def publish(self, entries: Sequence[RecordedEntry]) -> bool:
        """XADD the entries; on a Redis failure leave them for the relay. True when published."""
        if not entries:
            return True
        try:
            async with self._redis.pipeline(transaction=False) as pipe:
                for entry in entries:
                    pipe.xadd(entry.stream, _fields(entry))  # type: ignore[arg-type]
                await pipe.execute()
        except (RedisError, OSError) as error:
            log.warning(
                "outbox.publish_deferred", entries=len(entries), error_type=type(error).__name__
            )
            return False
        self._published.extend(entry.id for entry in entries)
        self._ensure_flusher()
        return True

    def _ensure_flusher(self) -> None:
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._flush_loop())
        self._wake.set()

    async def _flush_loop(self) -> None:
        while self._published:
            await asyncio.sleep(self._flush_interval)
            await self.flush()

    async def flush(self) -> None:
        """Delete the rows already published."""
        ids, self._published = self._published, []
        if not ids:
            return
        try:
            async with self._db.autocommit_session() as session:  # one statement
                await driver_rows(session, _DELETE_PUBLISHED, {"ids": ids})
        except Exception as error:  # noqa: BLE001 - the relay would republish; keep going
            log.warning("outbox.cleanup_failed", rows=len(ids), error_type=type(error).__name__)

    async def close(self) -> None:
        """Flush what is pending (called at shutdown)."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self.flush()


async def relay(db: Database, redis: Redis, *, batch_size: int = 500) -> int:
    """Publish rows left unpublished (Redis was down, a process died); returns how many."""
    total = 0
    while True:
        async with db.service_session() as session:
            rows = (
                await session.execute(
                    text(
                        "select id, stream, payload from outbox"
                        " where created_at < now() - make_interval(secs => :grace)"
                        " order by id limit :limit for update skip locked"
                    ),
                    {"grace": RELAY_GRACE_SECONDS, "limit": batch_size},
                )
            ).all()
            if not rows:
                return total
            entries = [RecordedEntry(id=row[0], stream=row[1], payload=row[2]) for row in rows]
            async with redis.pipeline(transaction=False) as pipe:
                for entry in entries:
                    pipe.xadd(entry.stream, _fields(entry))  # type: ignore[arg-type]
                await pipe.execute()
            await session.execute(
                text("delete from outbox where id = any(:ids)"),
                {"ids": [entry.id for entry in entries]},
            )
        total += len(entries)
        log.info("outbox.relayed", entries=len(entries))
        if len(entries) < batch_size:
            return total


async def relay_forever(
    db: Database, redis: Redis, stop: asyncio.Event, *, interval: float = 2.0
) -> None:
    """Run `relay` every `interval` seconds until `stop` is set."""
    await every(interval, stop, lambda: relay(db, redis), failure="outbox.relay_failed")
