"""Apply a batch of clean rows to the database, set-wise, inside the caller's transaction.

The same function serves the CSV job (one batch per chunk), the bulk JSON endpoint (one batch)
and the CLI. Rows for the same person inside a batch (any of their phone keys in common) go to
successive *waves*: the first row creates or updates the contact, a later one meets that contact
like any existing one, so the policy decides (skip: skipped; fill_empty: fills what the first
row left empty; overwrite: the later row wins). Across chunks the same happens naturally,
because earlier chunks are committed.
"""

from __future__ import annotations

import os
import random
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from psycopg import AsyncConnection
from sqlalchemy.ext.asyncio import AsyncSession

from zapcrm.contacts.importing import staging
from zapcrm.contacts.importing.rows import CleanContact
from zapcrm.contacts.importing.staging import Policy, StagedBatch

__all__ = ["BatchResult", "apply_batch", "driver_connection", "stage_rows"]

# Each wave applies at least one row, so this only stops a bug from looping forever.
_MAX_WAVES = 1_000
_ids = random.Random(os.urandom(16))  # noqa: S311 - ids must be unique, not secret


@dataclass(frozen=True, slots=True)
class BatchResult:
    """Counts of a batch, and per row (row number, outcome, contact id) when asked for."""

    created: int
    updated: int
    skipped: int
    rows: list[tuple[int, str, uuid.UUID]] | None = None


def _id_space(count: int) -> tuple[str, int]:
    """UUIDv7-style ids for `count` rows: the first 16 hex digits (the millisecond, the version
    and 12 random bits) and where a run of `count` consecutive values of the other 16 starts (2
    variant bits, then 62 random bits not overflowing). Consecutive ids sort in the order they
    are handed out, so new rows land at the right edge of the primary key indexes instead of at
    random pages, which is measurably cheaper with a million rows; one random draw per batch
    keeps two batches of the same millisecond apart (their runs meet with odds ~count / 2**62).
    """
    head = ((time.time_ns() // 1_000_000) << 16) | (0x7 << 12) | _ids.getrandbits(12)
    start = (0x2 << 62) | _ids.randrange((1 << 62) - count)
    return f"{head:016x}", start


def stage_rows(cleaned: Sequence[tuple[int, CleanContact]]) -> StagedBatch:
    """Give each row its wave (one past the last earlier row sharing any of its keys) and its
    ids, and encode them for the staging COPY, in one pass."""
    count = len(cleaned)
    prefix, serial = _id_space(sum(1 + len(contact.keys) for _, contact in cleaned))
    # Ids follow phone order, so new contacts enter both the primary key and the phone index
    # in ascending order; waves are still assigned in file order.
    by_phone = sorted(range(count), key=lambda position: cleaned[position][1].phone)
    new_ids: list[str] = [""] * count
    key_ids: list[list[str]] = [[]] * count
    for position in by_phone:
        new_ids[position] = f"{prefix}{serial:016x}"
        keys = len(cleaned[position][1].keys)
        key_ids[position] = [f"{prefix}{serial + n:016x}" for n in range(1, keys + 1)]
        serial += keys + 1
    last_wave: dict[str, int] = {}
    lines: list[str] = []
    for position, (row_no, contact) in enumerate(cleaned):
        wave = 1
        for key in contact.keys:
            seen = last_wave.get(key)
            if seen is not None and seen >= wave:
                wave = seen + 1
        for key in contact.keys:
            last_wave[key] = wave
        lines.append(
            staging.encode_row(row_no, wave, new_ids[position], key_ids[position], contact)
        )
    lines.append("")
    return StagedBatch(count, "\n".join(lines).encode())


async def driver_connection(session: AsyncSession) -> AsyncConnection[Any]:
    """The psycopg connection under a session, in the session's transaction (for COPY)."""
    connection = await session.connection()
    raw = await connection.get_raw_connection()
    driver: AsyncConnection[Any] = raw.driver_connection  # type: ignore[assignment]
    return driver


async def apply_batch(
    pg: AsyncConnection[Any],
    company_id: uuid.UUID,
    batch: StagedBatch,
    *,
    policy: Policy,
    default_source: str | None,
    actor_id: uuid.UUID | None,
    details: dict[str, Any],
    job_id: uuid.UUID | None = None,
    with_rows: bool = False,
    recovering_job: str | None = None,
) -> BatchResult:
    """Create, update or skip a contact for every row; the caller owns the transaction.

    `batch` is `stage_rows` of the cleaned rows (encoded off the event loop by the CSV job).
    The contacts a job (`job_id`) creates carry it and their row; without a job their creation
    is a timeline event. `recovering_job` names the job when an earlier attempt may have
    applied some of these rows already (their contacts and timeline events tell). Every
    event's details get the row number.
    """
    if not batch.rows:
        return BatchResult(0, 0, 0, [] if with_rows else None)
    await staging.create_stage(pg)
    await staging.copy_rows(pg, batch.payload)
    wave: int | None = 1
    for _ in range(_MAX_WAVES):
        assert wave is not None
        await staging.match_existing(pg, company_id, wave)
        if recovering_job is not None:
            await staging.settle_applied(pg, company_id, wave, recovering_job)
        await staging.defer_shared_contacts(pg, wave)
        if policy == "skip":
            await staging.skip_existing(pg, wave)
        else:
            await staging.update_existing(
                pg, company_id, wave, policy, actor_id=actor_id, details=details
            )
            await staging.release_vanished(pg, wave)
        while True:
            await pg.execute("savepoint import_wave")
            lost = await staging.insert_new(
                pg,
                company_id,
                wave,
                default_source=default_source,
                job_id=job_id,
                actor_id=actor_id,
                details=details,
            )
            if not lost:
                await pg.execute("release savepoint import_wave")
                break
            # Someone claimed a key of these rows since the match: undo the wave's inserts and
            # let those rows meet the winner in the next wave.
            await pg.execute("rollback to savepoint import_wave")
            await pg.execute("release savepoint import_wave")
            await staging.bump_wave(pg, lost)
        wave = await staging.next_wave(pg, wave)
        if wave is None:
            break
    else:  # pragma: no cover - needs a bug
        raise RuntimeError("import batch did not settle")
    counts = await staging.outcome_counts(pg)
    result = BatchResult(
        created=counts.get("created", 0),
        updated=counts.get("updated", 0),
        skipped=counts.get("skipped", 0),
        rows=await staging.outcomes(pg) if with_rows else None,
    )
    await staging.drop_stage(pg)
    return result
