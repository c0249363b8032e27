"""The distributor: every few seconds the worker hands out each distributing company's
waiting chats, one company per transaction, and announces them after commit (the panel of
the agent who got one tells them)."""

from __future__ import annotations

import asyncio

from zapcrm.distribution import repository, service
from zapcrm.kit.periodic import every
from zapcrm.logging import get_logger
from zapcrm.outbox import record
from zapcrm.runtime import Runtime

log = get_logger(__name__)


async def distribute_once(runtime: Runtime) -> int:
    """One round over the companies that distribute; how many chats were handed out."""
    async with runtime.db.service_session() as session:
        companies = await repository.enabled_companies(session)
    total = 0
    for company_id, limit in companies:
        async with runtime.db.service_session() as session:
            items = await service.distribute(session, runtime.redis, company_id, limit)
            entries = await record(session, company_id, items)
        await runtime.outbox.publish(entries)
        if items:
            log.info("conversations.distributed", company_id=str(company_id), count=len(items))
        total += len(items)
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
