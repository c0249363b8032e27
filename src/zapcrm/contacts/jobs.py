"""The worker's upkeep of contact data: folding the funnel's stage counts now and then, and
removing the name words nobody has any more (migration 0058)."""

from __future__ import annotations

import asyncio

from zapcrm.contacts.repository.name_words import PRUNE_BATCH, prune_name_words
from zapcrm.contacts.repository.tallies import fold_stage_tallies
from zapcrm.kit.periodic import every
from zapcrm.logging import get_logger
from zapcrm.runtime import Runtime

log = get_logger(__name__)

FOLD_INTERVAL_SECONDS = 60.0
PRUNE_INTERVAL_SECONDS = 300.0


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


async def prune_name_words_once(runtime: Runtime) -> int:
    """Remove the stale name words no contact holds any more, a batch at a time until none is
    left; how many went."""
    pruned = 0
    while True:
        async with runtime.db.service_session() as session:
            checked = await prune_name_words(session)
        pruned += checked.removed
        if checked.looked_at < PRUNE_BATCH:
            break
    if pruned:
        log.info("contacts.name_words_pruned", words=pruned)
    return pruned


async def prune_name_words_forever(
    runtime: Runtime, stop: asyncio.Event, *, interval: float = PRUNE_INTERVAL_SECONDS
) -> None:
    """`prune_name_words_once` every `interval` seconds until `stop`."""
    await every(
        interval,
        stop,
        lambda: prune_name_words_once(runtime),
        failure="contacts.name_words_prune_failed",
    )
