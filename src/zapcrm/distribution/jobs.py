"""The distributor: every few seconds the worker closes each company's idle chats (when it
asked for that) and hands out its waiting chats (when it distributes), one company per
transaction, announced after commit (the panel of the agent who got a chat tells them)."""

from __future__ import annotations

import asyncio

from zapcrm.distribution import repository, service
from zapcrm.kit.periodic import every
from zapcrm.logging import get_logger
from zapcrm.outbox import OutboxItem, record
from zapcrm.runtime import Runtime

log = get_logger(__name__)


async def distribute_once(runtime: Runtime) -> int:
    """One round over the companies that distribute or close idle chats: idle chats closed
    first (a closed chat frees room under the limit), then waiting chats handed out; how many
    chats were handed out."""
    async with runtime.db.service_session() as session:
        companies = await repository.active_settings(session)
    total = 0
    for settings in companies:
        company_id = settings.company_id
        async with runtime.db.service_session() as session:
            closed: list[OutboxItem] = []
            if settings.idle_close_hours is not None:
                closed = await service.close_idle(
                    session,
                    company_id,
                    settings.idle_close_hours,
                    settings.idle_close_message,
                )
            given: list[OutboxItem] = []
            if settings.enabled:
                given = await service.distribute(
                    session, runtime.redis, company_id, settings.max_open_per_agent
                )
            entries = await record(session, company_id, closed + given)
        await runtime.outbox.publish(entries)
        if closed:
            log.info("conversations.closed_idle", company_id=str(company_id), count=len(closed))
        if given:
            log.info("conversations.distributed", company_id=str(company_id), count=len(given))
        total += len(given)
    return total


async def distribute_forever(
    runtime: Runtime, stop: asyncio.Event, *, interval: float = 3.0
) -> None:
    """`distribute_once` every `interval` seconds (at once again after a busy round)."""
    await every(
        interval,
        stop,
        lambda: distribute_once(runtime),
        failure="conversations.distribution_failed",
        again=lambda handed: isinstance(handed, int) and handed >= service.BATCH,
    )
