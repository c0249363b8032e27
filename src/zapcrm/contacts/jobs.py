"""The worker's upkeep of contact data: folding the funnel's stage counts now and then."""

from __future__ import annotations

import asyncio

from zapcrm.contacts.repository.tallies import fold_stage_tallies
from zapcrm.kit.periodic import every
from zapcrm.logging import get_logger
from zapcrm.runtime import Runtime

log = get_logger(__name__)

FOLD_INTERVAL_SECONDS = 60.0


async def fold_tallies_once(runtime: Runtime) -> int:
    """One fold of every company's stage counts that grew past a few rows."""
    async with runtime.db.service_session() as session:
        folded = await fold_stage_tallies(session)
    if folded:
        log.info("contacts.tallies_folded", rows=folded)
    return folded


async def fold_tallies_forever(
    runtime: Runtime, stop: asyncio.Event, *, interval: float = FOLD_INTERVAL_SECONDS
) -> None:
    """`fold_tallies_once` every `interval` seconds until `stop`."""
    await every(
        interval, stop, lambda: fold_tallies_once(runtime), failure="contacts.tallies_fold_failed"
    )
