"""The worker's alarm clock for scheduled messages: every few seconds, the due ones become
ordinary sends (queued and announced after commit, like a message typed in the panel)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from zapcrm.kit.periodic import every
from zapcrm.logging import get_logger
from zapcrm.outbox import RecordedEntry, record
from zapcrm.runtime import Runtime
from zapcrm.scheduling import service

log = get_logger(__name__)


async def send_due_once(runtime: Runtime, now: datetime | None = None) -> int:
    """Queue what is due by `now` (at most a batch); how many sends were queued."""
    async with runtime.db.service_session() as session:
        sends = await service.send_due(session, now or datetime.now(UTC))
        entries: list[RecordedEntry] = []
        for company_id, items in sends:
            entries += await record(session, company_id, items)
    await runtime.outbox.publish(entries)
    if sends:
        log.info("scheduled.queued", count=len(sends))
    return len(sends)


async def send_due_forever(runtime: Runtime, stop: asyncio.Event, *, interval: float = 5.0) -> None:
    """`send_due_once` every `interval` seconds until `stop`."""
    await every(
        interval,
        stop,
        lambda: send_due_once(runtime),
        failure="scheduled.send_failed",
        again=lambda sent: isinstance(sent, int) and sent >= service.DUE_BATCH,
    )
