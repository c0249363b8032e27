"""Removing media files that no message points at any more.

A file is saved before its message row is committed (so a queued send never lacks its file),
so a crash in between, a failed send's cleanup that did not run, or a deleted message can leave
bytes behind. The sweep walks the storage, asks Postgres by message id (the primary key: cheap
even on a large table) whether each file is still the message's media, and removes the rest.
Files younger than the grace period are left alone, as are names the storage never writes.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from dataclasses import dataclass

from prometheus_client import Counter

from zapcrm.kit.periodic import every
from zapcrm.logging import get_logger
from zapcrm.messaging import repository
from zapcrm.messaging.media import MediaStorage, build_media_storage
from zapcrm.runtime import Runtime

log = get_logger(__name__)

SWEEP_BATCH = 500
# One sweep at a time across every worker process (the lock expires on its own).
LOCK_KEY = "media:sweep:lock"
REMOVED = Counter(
    "zapcrm_media_orphans_removed", "Media files removed because no message used them"
)


@dataclass
class SweepResult:
    """What one sweep saw and did."""

    scanned: int = 0
    removed: int = 0
    unknown: int = 0


def _message_id(name: str) -> tuple[uuid.UUID | None, bool]:
    """The message id a stored file name starts with, and whether it is a temporary file."""
    stem = name.split(".", 1)[0]
    try:
        return uuid.UUID(stem), name.endswith(".tmp")
    except ValueError:
        return None, False


async def sweep_orphan_media(
    runtime: Runtime,
    *,
    storage: MediaStorage | None = None,
    grace_seconds: float | None = None,
    dry_run: bool = False,
) -> SweepResult:
    """Remove (or, with `dry_run`, count) the orphan files older than the grace period."""
    storage = storage or build_media_storage(runtime.settings)
    grace = runtime.settings.media_orphan_grace_seconds if grace_seconds is None else grace_seconds
    result = SweepResult()
    async for keys in storage.keys_older_than(time.time() - grace, SWEEP_BATCH):
        result.scanned += len(keys)
        parsed = {key: _message_id(key.rsplit("/", 1)[-1]) for key in keys}
        ids = [message_id for message_id, _ in parsed.values() if message_id is not None]
        async with runtime.db.service_session() as session:
            stored = await repository.media_paths(session, ids)
        for key, (message_id, temporary) in parsed.items():
            if message_id is None:
                result.unknown += 1  # not a name we write: not ours to delete
                continue
            # A temporary file this old is a write that died; a kept file is the row's media.
            if not temporary and stored.get(message_id) == key:
                continue
            result.removed += 1
            if not dry_run:
                await storage.remove(key)
                REMOVED.inc()
    log.info(
        "media.sweep_done",
        scanned=result.scanned,
        removed=result.removed,
        unknown=result.unknown,
        dry_run=dry_run,
    )
    return result


async def sweep_forever(runtime: Runtime, stop: asyncio.Event) -> None:
    """The worker's schedule: a sweep every MEDIA_SWEEP_SECONDS, by one worker at a time."""
    interval = runtime.settings.media_sweep_seconds
    if interval == 0:
        log.info("media.sweep_off")
        return

    async def sweep_if_first() -> None:
        if await runtime.redis.set(LOCK_KEY, "1", nx=True, ex=max(60, interval - 60)):
            await sweep_orphan_media(runtime)

    await every(interval, stop, sweep_if_first, failure="media.sweep_failed")
