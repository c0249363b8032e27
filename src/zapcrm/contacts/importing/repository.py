"""SQL for import jobs (`import_jobs` rows); the contact writes live in staging.py.

Every function names the company: under a tenant session RLS also limits rows to the caller's
(own jobs, or all of the company's for supervisors); the worker runs as the service role.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from zapcrm.contacts.repository.attributes import list_stages
from zapcrm.models import ImportJob

__all__ = [
    "add_job",
    "cancel_job",
    "finish_job",
    "get_job",
    "list_jobs",
    "lock_job",
    "record_chunk",
    "requeue_job",
    "stage_pairs",
    "start_running",
]

ACTIVE = ("uploaded", "queued", "running")


async def add_job(session: AsyncSession, values: dict[str, Any]) -> ImportJob:
    """Insert a job row and return it."""
    job = ImportJob(**values)
    session.add(job)
    await session.flush()
    await session.refresh(job)
    return job


async def get_job(
    session: AsyncSession, company_id: uuid.UUID, job_id: uuid.UUID, *, lock: bool = False
) -> ImportJob | None:
    """One job of the company (locked for update when asked), or None."""
    statement = select(ImportJob).where(ImportJob.company_id == company_id, ImportJob.id == job_id)
    if lock:
        statement = statement.with_for_update()
    return (await session.scalars(statement)).first()


async def list_jobs(
    session: AsyncSession, company_id: uuid.UUID, limit: int
) -> Sequence[ImportJob]:
    """The company's most recent jobs the caller may see."""
    statement = (
        select(ImportJob)
        .where(ImportJob.company_id == company_id)
        .order_by(ImportJob.created_at.desc(), ImportJob.id.desc())
        .limit(limit)
    )
    return (await session.scalars(statement)).all()


async def start_running(session: AsyncSession, job: ImportJob) -> None:
    """Mark a locked queued (or interrupted running) job as running."""
    job.status = "running"
    job.error = None
    if job.started_at is None:
        job.started_at = func.now()
    await session.flush()
    await session.refresh(job)


async def lock_job(
    session: AsyncSession, company_id: uuid.UUID, job_id: uuid.UUID
) -> tuple[str, int] | None:
    """Lock the job row for this chunk's transaction; its status and checkpoint."""
    statement = (
        select(ImportJob.status, ImportJob.processed_rows)
        .where(ImportJob.company_id == company_id, ImportJob.id == job_id)
        .with_for_update()
    )
    row = (await session.execute(statement)).first()
    return None if row is None else (row[0], row[1])


async def record_chunk(
    session: AsyncSession,
    company_id: uuid.UUID,
    job_id: uuid.UUID,
    *,
    processed_rows: int,
    created: int,
    updated: int,
    skipped: int,
    failed: int,
    warned: int,
) -> ImportJob:
    """Move the checkpoint and add the chunk's counts, in the chunk's own transaction."""
    statement = (
        update(ImportJob)
        .where(ImportJob.company_id == company_id, ImportJob.id == job_id)
        .values(
            processed_rows=processed_rows,
            created_count=ImportJob.created_count + created,
            updated_count=ImportJob.updated_count + updated,
            skipped_count=ImportJob.skipped_count + skipped,
            failed_count=ImportJob.failed_count + failed,
            warned_count=ImportJob.warned_count + warned,
        )
        .returning(ImportJob)
        .execution_options(synchronize_session=False, populate_existing=True)
    )
    return (await session.scalars(statement)).one()


async def finish_job(
    session: AsyncSession,
    company_id: uuid.UUID,
    job_id: uuid.UUID,
    *,
    status: str,
    error: str | None = None,
    failed_path: str | None = None,
) -> ImportJob | None:
    """Close a running (or queued) job; a cancelled job keeps its status but gets its file."""
    values: dict[str, Any] = {"finished_at": func.now(), "failed_path": failed_path}
    closing = (
        update(ImportJob)
        .where(
            ImportJob.company_id == company_id,
            ImportJob.id == job_id,
            ImportJob.status.in_(("queued", "running")),
        )
        .values(status=status, error=error, **values)
        .returning(ImportJob)
        .execution_options(synchronize_session=False, populate_existing=True)
    )
    job = (await session.scalars(closing)).first()
    if job is not None:
        return job
    keeping = (
        update(ImportJob)
        .where(ImportJob.company_id == company_id, ImportJob.id == job_id)
        .values(failed_path=failed_path)
        .returning(ImportJob)
        .execution_options(synchronize_session=False, populate_existing=True)
    )
    return (await session.scalars(keeping)).first()


async def cancel_job(
    session: AsyncSession, company_id: uuid.UUID, job_id: uuid.UUID
) -> ImportJob | None:
    """Cancel a job that has not finished; None when it is not active (or not visible)."""
    statement = (
        update(ImportJob)
        .where(
            ImportJob.company_id == company_id,
            ImportJob.id == job_id,
            ImportJob.status.in_(ACTIVE),
        )
        .values(status="cancelled", finished_at=func.now())
        .returning(ImportJob)
        .execution_options(synchronize_session=False, populate_existing=True)
    )
    return (await session.scalars(statement)).first()


async def requeue_job(session: AsyncSession, job: ImportJob) -> None:
    """Put a locked job back in the queue; its checkpoint and counts stay, so it resumes."""
    job.status = "queued"
    job.error = None
    job.finished_at = None
    # The failed-rows file is offered again when the job ends (the runner trims it back to the
    # checkpoint and appends).
    job.failed_path = None
    await session.flush()
    await session.refresh(job)


async def stage_pairs(session: AsyncSession, company_id: uuid.UUID) -> list[tuple[str, str]]:
    """The company's funnel stages as (key, label)."""
    return [(stage.key, stage.label) for stage in await list_stages(session, company_id)]
