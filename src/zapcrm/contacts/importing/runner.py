"""Run one CSV import job: stream the file in chunks, apply each, checkpoint, report progress.

Each chunk moves the job's checkpoint (`processed_rows`) and adds its counts in the same
transaction that applies it, so a crash loses nothing and duplicates nothing: a re-run resumes
after the last committed chunk, and the failed-rows file is trimmed back to that point. The job
row is locked first in every chunk transaction, so a cancel lands between chunks and two runners
of the same job (a reclaimed queue entry) cannot both apply a chunk.

Speed: parsing the next chunk (phones, in Python) runs in a thread while Postgres applies the
current one, and a chunk is applied in `limits.IMPORT_LANES` transactions at once, its rows split
by phone so that one person's rows stay in one lane, in file order. The lanes other than the
first commit as soon as they are done; the first (which holds the job row) commits last, with
the checkpoint. If it never does, the retry recognises the rows the other lanes applied by the
job id and row number they left (on the contacts they created, in the timeline events of the
ones they changed) and counts them as before. Any failure in a parallel attempt (a lock wait
between lanes times out, a deadlock) retries the chunk in one lane.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import time
import uuid
import zlib
from collections.abc import Callable, Generator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
import redis.exceptions
from psycopg import AsyncConnection
from redis.asyncio import Redis
from redis.asyncio.lock import Lock
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.ext.asyncio import AsyncSession

from zapcrm.contacts.attributes import load_definitions
from zapcrm.contacts.importing import limits, repository
from zapcrm.contacts.importing.failed import FailedRows, failed_rows_path, warned_reason
from zapcrm.contacts.importing.mapping import ColumnPlan, plan_columns
from zapcrm.contacts.importing.pipeline import (
    BatchResult,
    apply_batch,
    driver_connection,
    stage_rows,
)
from zapcrm.contacts.importing.progress import Progress
from zapcrm.contacts.importing.reader import iter_records, line_of
from zapcrm.contacts.importing.rows import CleanContact, RowRules
from zapcrm.contacts.importing.staging import Policy, StagedBatch
from zapcrm.contacts.rules import service as list_rules
from zapcrm.db import Database
from zapcrm.exceptions import ZapcrmError
from zapcrm.kit.threads import responsive_loop
from zapcrm.logging import get_logger
from zapcrm.messaging import realtime
from zapcrm.models import ImportJob

__all__ = [
    "ImportBusy",
    "ImportFailed",
    "ImportRunner",
    "abandon_job",
    "is_transient",
    "lease_key",
    "publish_progress",
]

log = get_logger(__name__)

_CHUNK_ATTEMPTS = 3
_LANE_LOCK_TIMEOUT = "5s"
# A running job renews this Redis lease after every chunk; a second runner of the same job (a
# queue entry reclaimed from a stalled worker) finds it taken and retries later, so it cannot
# rewrite the failed-rows file under the first. When the holder dies, the lease expires.
LEASE_SECONDS = 300
DEFAULT_SOURCE = "import"


def lease_key(job_id: uuid.UUID) -> str:
    """The Redis key of a job's lease (present while a runner holds the job)."""
    return f"contacts:import:lease:{job_id}"


class ImportFailed(Exception):
    """The job cannot finish (recorded on the job as `failed` with the reason)."""


class ImportBusy(Exception):
    """Another runner holds this job's lease; try again later."""


class _Stopped(Exception):
    """The job was cancelled, or another runner moved its checkpoint (`overtaken`)."""

    def __init__(self, overtaken: bool) -> None:
        super().__init__("overtaken" if overtaken else "cancelled")
        self.overtaken = overtaken


def is_transient(error: BaseException) -> bool:
    """Whether retrying later may help (the database or Redis went away, a deadlock)."""
    if isinstance(error, OperationalError | InterfaceError | psycopg.OperationalError):
        return True
    if isinstance(error, DBAPIError) and error.connection_invalidated:
        return True
    return isinstance(
        error, redis.exceptions.ConnectionError | redis.exceptions.TimeoutError | ConnectionError
    )


def _retryable(error: BaseException) -> bool:
    """A conflict between transactions: the chunk may simply run again (in one lane)."""
    cause = error.orig if isinstance(error, DBAPIError) else error
    return isinstance(
        cause,
        psycopg.errors.DeadlockDetected
        | psycopg.errors.SerializationFailure
        | psycopg.errors.LockNotAvailable,
    )


@dataclass(frozen=True, slots=True)
class _Setup:
    job_id: uuid.UUID
    company_id: uuid.UUID
    created_by: uuid.UUID | None
    file_path: Path
    encoding: str
    delimiter: str
    columns: list[str]
    plan: ColumnPlan
    rules: RowRules
    policy: Policy
    processed_rows: int
    interrupted: bool


@dataclass(slots=True)
class _Chunk:
    first_index: int
    last_index: int
    # One staged batch (row count, COPY payload) per lane.
    parts: list[StagedBatch] = field(default_factory=list)
    failures: list[tuple[int, list[str], str]] = field(default_factory=list)
    # Rows imported without some of their values (rows.py), for the same file.
    warned: list[tuple[int, list[str], str]] = field(default_factory=list)


@dataclass(slots=True)
class _Totals:
    created: int = 0
    updated: int = 0
    skipped: int = 0

    def add(self, result: BatchResult) -> None:
        self.created += result.created
        self.updated += result.updated
        self.skipped += result.skipped


class ImportRunner:
    """Runs one job to its end (or to a cancel); safe to run again after any crash."""

    def __init__(
        self,
        db: Database,
        company_id: uuid.UUID,
        job_id: uuid.UUID,
        *,
        redis: Redis | None = None,
        chunk_rows: int | None = None,
        lanes: int | None = None,
        on_progress: Callable[[Progress], None] | None = None,
    ) -> None:
        self.db = db
        self.company_id = company_id
        self.job_id = job_id
        self.redis = redis
        self.chunk_rows = chunk_rows or limits.CHUNK_ROWS
        self.lanes = max(1, lanes or limits.IMPORT_LANES)
        self.on_progress = on_progress
        self._resumed_at = 0
        self._clock = time.monotonic()
        self._lease: Lock | None = None

    async def run(self) -> Progress | None:
        """Import what is left of the job; None when there is nothing to run.

        Raises ImportBusy when another runner holds the job, ImportFailed when the job failed
        for good (recorded on it), and transient database or Redis errors as they are.
        """
        if self.redis is not None:
            lease = self.redis.lock(
                lease_key(self.job_id),
                timeout=LEASE_SECONDS,
                blocking=False,
                thread_local=False,
            )
            if not await lease.acquire():
                raise ImportBusy(str(self.job_id))
            self._lease = lease
        try:
            return await self._run()
        finally:
            if self._lease is not None:
                with contextlib.suppress(redis.exceptions.RedisError):
                    await self._lease.release()

    async def _keep_lease(self) -> None:
        if self._lease is None:
            return
        try:
            await self._lease.reacquire()
        except redis.exceptions.LockNotOwnedError:
            raise _Stopped(overtaken=True) from None
        except redis.exceptions.RedisError as error:
            # Redis away for a moment: the checkpoint in Postgres still guards the job.
            log.warning("import.lease_not_renewed", error_type=type(error).__name__)

    async def _run(self) -> Progress | None:
        setup = await self._claim()
        if setup is None:
            return None
        log.info(
            "import.started",
            job_id=str(self.job_id),
            company_id=str(self.company_id),
            resume_from=setup.processed_rows,
        )
        try:
            return await self._import(setup)
        except Exception as error:
            if is_transient(error):
                raise
            log.exception("import.failed", job_id=str(self.job_id))
            if isinstance(error, ZapcrmError):
                reason = error.message
            elif isinstance(error, FileNotFoundError):
                reason = "o arquivo enviado não está mais disponível"
            else:
                reason = f"erro interno ({type(error).__name__})"
            await self._finish("failed", setup, error=f"a importação falhou: {reason}")
            raise ImportFailed(reason) from error

    async def _claim(self) -> _Setup | None:
        async with self.db.service_session() as session:
            job = await repository.get_job(session, self.company_id, self.job_id, lock=True)
            if job is None or job.status not in ("queued", "running") or not job.file_path:
                return None
            definitions = await load_definitions(session, self.company_id)
            stages = await repository.stage_pairs(session, self.company_id)
            columns = list(job.detected.get("columns", []))
            try:
                plan = plan_columns(job.mapping.get("columns", {}), columns, definitions)
            except ZapcrmError as error:
                # An attribute mapped at start was deleted since: nothing can be imported.
                await repository.finish_job(
                    session, self.company_id, self.job_id, status="failed", error=error.message
                )
                return None
            # A job that ran before (interrupted, or failed and then retried) may have had lanes of
            # its last chunk committed without the checkpoint: its first chunk runs recovering.
            # Read before start_running, which marks every claimed job running.
            ran_before = job.started_at is not None
            await repository.start_running(session, job)
            setup = _Setup(
                job_id=job.id,
                company_id=job.company_id,
                created_by=job.created_by,
                file_path=Path(job.file_path),
                encoding=str(job.detected["encoding"]),
                delimiter=str(job.detected["delimiter"]),
                columns=columns,
                plan=plan,
                rules=RowRules(
                    default_region=str(job.mapping.get("default_region", "BR")),
                    definitions=definitions,
                    stages=stages,
                ),
                policy=job.existing_policy,  # type: ignore[arg-type]  # the table's check
                processed_rows=job.processed_rows,
                interrupted=ran_before,
            )
        self._resumed_at = setup.processed_rows
        self._clock = time.monotonic()
        return setup

    def _chunks(self, setup: _Setup) -> Generator[_Chunk, None, None]:
        """Parse, clean and encode the rest of the file, one chunk at a time (in a thread)."""
        width = len(setup.columns)
        chunk: _Chunk | None = None
        lanes: list[list[tuple[int, CleanContact]]] = [[] for _ in range(self.lanes)]
        records = iter_records(
            setup.file_path, setup.encoding, setup.delimiter, skip=setup.processed_rows
        )
        for record in records:
            if chunk is None:
                chunk = _Chunk(first_index=record.index, last_index=record.index)
            chunk.last_index = record.index
            result = setup.rules.from_cells(record.cells, setup.plan, width)
            if isinstance(result, str):
                chunk.failures.append((record.line, record.cells, result))
            else:
                if result.warnings:
                    reason = warned_reason(result.warnings)
                    chunk.warned.append((record.line, record.cells, reason))
                # The same number always lands in the same lane, whatever its format.
                lanes[zlib.crc32(result.phone.encode()) % self.lanes].append((record.index, result))
            if chunk.last_index - chunk.first_index + 1 >= self.chunk_rows:
                chunk.parts = [stage_rows(lane) for lane in lanes]
                yield chunk
                chunk = None
                lanes = [[] for _ in range(self.lanes)]
        if chunk is not None:
            chunk.parts = [stage_rows(lane) for lane in lanes]
            yield chunk

    async def _import(self, setup: _Setup) -> Progress | None:
        keep = None
        if setup.processed_rows:
            keep = await asyncio.to_thread(
                line_of, setup.file_path, setup.encoding, setup.delimiter, setup.processed_rows
            )
        failed = FailedRows(
            failed_rows_path(setup.file_path, setup.job_id), setup.columns, setup.delimiter, keep
        )
        # A chunk holds ~10 tracked objects per row: the collector's full passes then also walk
        # every object of the process, which cost more than the parsing itself. Frozen objects
        # are skipped until the import ends (nothing is leaked: unfreeze hands them back; zapcrm
        # freezes nothing else, so no one else's freeze is undone).
        gc.freeze()
        chunks = self._chunks(setup)
        # The lanes' statements are sent from the event loop while that thread parses.
        with responsive_loop():
            pending = asyncio.ensure_future(asyncio.to_thread(next, chunks, None))
            recovering = setup.interrupted
            try:
                while (chunk := await pending) is not None:
                    # Clean the next chunk in a thread while Postgres applies this one.
                    pending = asyncio.ensure_future(asyncio.to_thread(next, chunks, None))
                    await self._report(await self._apply(setup, chunk, failed, recovering))
                    recovering = False
                    await self._keep_lease()
            except _Stopped as stop:
                if stop.overtaken:
                    return None
            finally:
                # The thread may still be inside the generator: let it finish before closing.
                with contextlib.suppress(Exception):
                    await pending
                chunks.close()
                failed.close()
                gc.unfreeze()
        return await self._finish("completed", setup, rows_in_file=failed.count + failed.warned)

    async def _apply(
        self, setup: _Setup, chunk: _Chunk, failed: FailedRows, recovering: bool
    ) -> Progress:
        """Apply a chunk and checkpoint it, retrying conflicts (then in one lane)."""
        mark = failed.mark()
        for attempt in range(1, _CHUNK_ATTEMPTS + 1):
            parallel = attempt == 1 and sum(1 for part in chunk.parts if part.rows) > 1
            try:
                if parallel:
                    return await self._apply_lanes(setup, chunk, failed, recovering)
                return await self._apply_serial(setup, chunk, failed, recovering)
            except _Stopped:
                failed.rewind(mark)
                raise
            except Exception as error:
                failed.rewind(mark)
                if not _retryable(error) or attempt == _CHUNK_ATTEMPTS:
                    raise
                log.warning(
                    "import.chunk_retry",
                    job_id=str(self.job_id),
                    attempt=attempt,
                    error_type=type(error).__name__,
                )
            except BaseException:
                failed.rewind(mark)
                raise
            # Lanes of the failed attempt may have committed their part.
            recovering = recovering or parallel
        raise AssertionError("unreachable")  # pragma: no cover - the loop returns or raises

    async def _check(self, session: AsyncSession, chunk: _Chunk) -> None:
        """Lock the job row; stop when it was cancelled or another runner moved on."""
        state = await repository.lock_job(session, self.company_id, self.job_id)
        if state is None or state[0] != "running":
            log.info("import.stopped", job_id=str(self.job_id), status=state)
            raise _Stopped(overtaken=False)
        if state[1] != chunk.first_index - 1:
            # Another runner of this job got here first (a reclaimed queue entry).
            log.warning("import.overtaken", job_id=str(self.job_id))
            raise _Stopped(overtaken=True)

    async def _batch(
        self,
        setup: _Setup,
        pg: AsyncConnection[Any],
        part: StagedBatch,
        recovering: bool,
    ) -> BatchResult:
        return await apply_batch(
            pg,
            self.company_id,
            part,
            policy=setup.policy,
            default_source=DEFAULT_SOURCE,
            actor_id=setup.created_by,
            details={"job_id": str(self.job_id)},
            job_id=self.job_id,
            recovering_job=str(self.job_id) if recovering else None,
        )

    async def _commit_chunk(
        self, session: AsyncSession, chunk: _Chunk, failed: FailedRows, totals: _Totals
    ) -> Progress:
        failed.write(chunk.failures, chunk.warned)
        job = await repository.record_chunk(
            session,
            self.company_id,
            self.job_id,
            processed_rows=chunk.last_index,
            created=totals.created,
            updated=totals.updated,
            skipped=totals.skipped,
            failed=len(chunk.failures),
            warned=len(chunk.warned),
        )
        return Progress.of(job, rows_per_second=self._speed(job.processed_rows))

    async def _apply_serial(
        self, setup: _Setup, chunk: _Chunk, failed: FailedRows, recovering: bool
    ) -> Progress:
        """Every lane's rows, one after the other, in the job's own transaction."""
        totals = _Totals()
        async with self.db.service_session() as session:
            await self._check(session, chunk)
            pg = await driver_connection(session)
            for part in chunk.parts:
                if part.rows:
                    totals.add(await self._batch(setup, pg, part, recovering))
            return await self._commit_chunk(session, chunk, failed, totals)

    async def _apply_lanes(
        self, setup: _Setup, chunk: _Chunk, failed: FailedRows, recovering: bool
    ) -> Progress:
        """Lanes in parallel transactions; the first one (holding the job row) commits last."""

        async def other_lane(part: StagedBatch) -> BatchResult:
            async with self.db.service_session() as lane:
                pg = await driver_connection(lane)
                # The first lane waits for this one to commit; if this one waited for a lock the
                # first lane holds (one contact owning numbers of both lanes), neither would move.
                await pg.execute(f"set local lock_timeout = '{_LANE_LOCK_TIMEOUT}'")
                return await self._batch(setup, pg, part, recovering)

        totals = _Totals()
        async with self.db.service_session() as session:
            await self._check(session, chunk)
            pg = await driver_connection(session)
            outcomes = await asyncio.gather(
                self._batch(setup, pg, chunk.parts[0], recovering),
                *(other_lane(part) for part in chunk.parts[1:] if part.rows),
                return_exceptions=True,
            )
            for outcome in outcomes:
                if isinstance(outcome, BaseException):
                    raise outcome
                totals.add(outcome)
            return await self._commit_chunk(session, chunk, failed, totals)

    def _speed(self, processed: int) -> float | None:
        elapsed = time.monotonic() - self._clock
        done = processed - self._resumed_at
        return done / elapsed if elapsed > 0 and done > 0 else None

    async def _finish(
        self,
        status: str,
        setup: _Setup,
        *,
        rows_in_file: int | None = None,
        error: str | None = None,
    ) -> Progress | None:
        path = failed_rows_path(setup.file_path, setup.job_id)
        async with self.db.service_session() as session:
            current = await repository.get_job(session, self.company_id, self.job_id)
            if rows_in_file is None:
                rows_in_file = 0 if current is None else _rows_in_file(current)
            keep_file = rows_in_file > 0 and path.exists()
            if status == "completed":
                # Once, over every contact the job created or changed: a rule is one INSERT ...
                # SELECT, not one per chunk or per row. A re-run (a crash before this commit)
                # applies them again, which adds nobody twice.
                await list_rules.apply_to_import(session, self.company_id, self.job_id)
            job = await repository.finish_job(
                session,
                self.company_id,
                self.job_id,
                status=status,
                error=error,
                failed_path=str(path) if keep_file else None,
            )
        if not keep_file:
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
        if job is None:
            return None
        progress = Progress.of(job, rows_per_second=self._speed(job.processed_rows))
        log.info(
            "import.finished",
            job_id=str(self.job_id),
            status=job.status,
            created=job.created_count,
            updated=job.updated_count,
            skipped=job.skipped_count,
            failed=job.failed_count,
            warned=job.warned_count,
        )
        await self._report(progress)
        return progress

    async def _report(self, progress: Progress) -> None:
        if self.on_progress is not None:
            self.on_progress(progress)
        if self.redis is not None:
            await publish_progress(self.redis, self.company_id, progress)


def _rows_in_file(job: ImportJob) -> int:
    """The rows a job's failed-rows file holds: refused and imported with warnings."""
    return job.failed_count + job.warned_count


async def publish_progress(client: Redis, company_id: uuid.UUID, progress: Progress) -> None:
    """Send the job's `import.progress` live event; a Redis failure is only logged."""
    event = realtime.encode_event("import.progress", data=progress.event_data())
    try:
        await realtime.publish(client, company_id, event)
    except (redis.exceptions.RedisError, OSError) as error:
        # Live progress is a nicety; the job row holds the truth.
        log.warning("import.progress_not_published", error_type=type(error).__name__)


async def abandon_job(
    db: Database,
    company_id: uuid.UUID,
    job_id: uuid.UUID,
    *,
    reason: str,
    redis: Redis | None = None,
) -> Progress | None:
    """Mark a queued or running job `failed` with `reason` because the queue gave up on it.

    Its checkpoint and counts stay, so the retry endpoint resumes it; the failed-rows file of
    the chunks already applied is offered as after any failure. Publishes the final progress;
    None when the job had already ended (or does not exist).
    """
    async with db.service_session() as session:
        job = await repository.get_job(session, company_id, job_id, lock=True)
        if job is None or job.status not in ("queued", "running"):
            return None
        path = failed_rows_path(job.file_path, job_id) if job.file_path else None
        keep = path is not None and _rows_in_file(job) > 0 and await asyncio.to_thread(path.exists)
        job = await repository.finish_job(
            session,
            company_id,
            job_id,
            status="failed",
            error=reason,
            failed_path=str(path) if keep else None,
        )
    if job is None:
        return None
    progress = Progress.of(job)
    log.warning("import.abandoned", job_id=str(job_id), processed=job.processed_rows)
    if redis is not None:
        await publish_progress(redis, company_id, progress)
    return progress
