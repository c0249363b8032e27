"""Snoozed chats coming back: every few seconds the worker reopens the chats whose snooze has
ended and announces them (after commit), so inboxes show them open again live.

A customer's message wakes a snoozed chat at once, in the webhook's own statement
(repository/ingest.py INBOX_CTE); this loop only handles the time running out.
"""

from __future__ import annotations

import asyncio
import uuid
from collections import defaultdict
from datetime import UTC, datetime

from zapcrm.kit.periodic import every
from zapcrm.logging import get_logger
from zapcrm.messaging.service.actions import wake_due
from zapcrm.outbox import OutboxItem, RecordedEntry, record
from zapcrm.runtime import Runtime

log = get_logger(__name__)

# Chats reopened per transaction: a backlog (the worker was down) drains in a few rounds.
WAKE_BATCH = 500


async def wake_once(runtime: Runtime, now: datetime | None = None) -> int:
    """Reopen the chats due by `now` (at most a batch); how many."""
    async with runtime.db.service_session() as session:
        items = await wake_due(session, now or datetime.now(UTC), WAKE_BATCH)
        by_company: dict[uuid.UUID, list[OutboxItem]] = defaultdict(list)
        for item in items:
            by_company[uuid.UUID(str(item.payload["company_id"]))].append(item)
        entries: list[RecordedEntry] = []
        for company_id, announced in by_company.items():
            entries += await record(session, company_id, announced)
    await runtime.outbox.publish(entries)
    if items:
        log.info("conversations.woken", count=len(items))
    return len(items)


async def wake_forever(runtime: Runtime, stop: asyncio.Event, *, interval: float = 5.0) -> None:
    """`wake_once` every `interval` seconds (at once again after a full batch) until `stop`."""
    await every(
        interval,
        stop,
        lambda: wake_once(runtime),
        failure="conversations.wake_failed",
        again=lambda woken: isinstance(woken, int) and woken >= WAKE_BATCH,
    )
