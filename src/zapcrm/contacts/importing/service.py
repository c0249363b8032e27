"""Import rules: register an upload, start it, follow it, cancel it, retry it; the bulk JSON path.

Callers own the transaction (a tenant session under RLS for the API). Uploaded files are kept
under `<parent of MEDIA_DIR>/imports/<company id>/<job id>.csv`, with the failed rows beside
them as `<job id>.failed.csv` (no new setting: the directory is derived from MEDIA_DIR).
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import Sequence
from pathlib import Path

import phonenumbers
from sqlalchemy.ext.asyncio import AsyncSession

from zapcrm.accounts.audit import audit_action
from zapcrm.auth.identity import Identity
from zapcrm.config import Settings
from zapcrm.contacts.attributes import load_definitions
from zapcrm.contacts.importing import limits, repository
from zapcrm.contacts.importing.mapping import plan_columns, suggest_mapping
from zapcrm.contacts.importing.pipeline import apply_batch, driver_connection, stage_rows
from zapcrm.contacts.importing.reader import FileProfile, inspect_file
from zapcrm.contacts.importing.rows import CleanContact, RawContact, RowRules
from zapcrm.contacts.importing.schemas import (
    BulkContact,
    BulkItem,
    BulkResult,
    ImportStart,
    Policy,
)
from zapcrm.contacts.rules import service as list_rules
from zapcrm.exceptions import Conflict, NotFound, ValidationFailed
from zapcrm.i18n import N_
from zapcrm.models import ImportJob
from zapcrm.outbox import OutboxItem

__all__ = [
    "IMPORT_STREAM",
    "bulk_import",
    "cancel_import",
    "discard_upload",
    "failed_rows_file",
    "get_import",
    "imports_dir",
    "inspect_upload",
    "list_imports",
    "register_upload",
    "retry_import",
    "start_import",
    "upload_path",
]

IMPORT_STREAM = "contacts:import"
BULK_SOURCE = "api"
RECENT_JOBS = 50


def imports_dir(settings: Settings) -> Path:
    """Where uploads are kept: an `imports` directory beside MEDIA_DIR."""
    return Path(settings.media_dir).resolve().parent / "imports"


def upload_path(settings: Settings, company_id: uuid.UUID, job_id: uuid.UUID) -> Path:
    """The stored upload of one job."""
    return imports_dir(settings) / str(company_id) / f"{job_id}.csv"


def _check_region(region: str) -> None:
    if region not in phonenumbers.SUPPORTED_REGIONS:
        raise ValidationFailed(
            N_("região de telefone desconhecida"),
            fields=[{"field": "default_region", "message": N_("use um código de país como BR")}],
        )


async def inspect_upload(path: Path) -> FileProfile:
    """Read a stored upload through once (off the event loop); a refused file is deleted."""
    try:
        return await asyncio.to_thread(inspect_file, path)
    except BaseException:
        discard_upload(path)
        raise


def discard_upload(path: Path) -> None:
    """Delete a stored upload that will not become a job."""
    with contextlib.suppress(FileNotFoundError):
        path.unlink()


async def register_upload(
    session: AsyncSession,
    *,
    company_id: uuid.UUID,
    created_by: uuid.UUID | None,
    job_id: uuid.UUID,
    file_name: str,
    path: Path,
    size: int,
    profile: FileProfile,
) -> ImportJob:
    """Record the job of a checked upload (status uploaded) with its preview."""
    definitions = await load_definitions(session, company_id)
    return await repository.add_job(
        session,
        {
            "id": job_id,
            "company_id": company_id,
            "created_by": created_by,
            "status": "uploaded",
            "file_name": file_name,
            "file_path": str(path),
            "file_size": size,
            "total_rows": profile.total_rows,
            "detected": {
                "encoding": profile.encoding,
                "delimiter": profile.delimiter,
                "columns": profile.columns,
                "sample": profile.sample,
                "suggested_mapping": suggest_mapping(profile.columns, definitions),
            },
        },
    )


async def _job(session: AsyncSession, company_id: uuid.UUID, job_id: uuid.UUID) -> ImportJob:
    job = await repository.get_job(session, company_id, job_id)
    if job is None:
        raise NotFound(N_("importação não encontrada"))
    return job


async def start_import(
    session: AsyncSession, company_id: uuid.UUID, job_id: uuid.UUID, request: ImportStart
) -> tuple[ImportJob, OutboxItem]:
    """Validate the mapping and queue the job; the caller records the outbox item."""
    job = await repository.get_job(session, company_id, job_id, lock=True)
    if job is None:
        raise NotFound(N_("importação não encontrada"))
    if job.status != "uploaded":
        raise Conflict(N_("esta importação já foi iniciada"), status=job.status)
    _check_region(request.default_region)
    columns = list(job.detected.get("columns", []))
    definitions = await load_definitions(session, company_id)
    plan = plan_columns(request.mapping, columns, definitions)
    job.mapping = {
        "columns": plan.as_mapping(columns),
        "default_region": request.default_region,
    }
    job.existing_policy = request.existing_policy
    job.status = "queued"
    await session.flush()
    await session.refresh(job)
    item = OutboxItem(IMPORT_STREAM, {"job_id": str(job.id), "company_id": str(company_id)})
    return job, item


async def get_import(session: AsyncSession, company_id: uuid.UUID, job_id: uuid.UUID) -> ImportJob:
    """One job the caller may see."""
    return await _job(session, company_id, job_id)


async def list_imports(session: AsyncSession, company_id: uuid.UUID) -> Sequence[ImportJob]:
    """The most recent jobs the caller may see."""
    return await repository.list_jobs(session, company_id, RECENT_JOBS)


async def cancel_import(
    session: AsyncSession, company_id: uuid.UUID, job_id: uuid.UUID
) -> ImportJob:
    """Stop a job between chunks; contacts of chunks already applied stay."""
    job = await repository.cancel_job(session, company_id, job_id)
    if job is not None:
        return job
    current = await _job(session, company_id, job_id)
    raise Conflict(N_("esta importação já terminou"), status=current.status)


_NOT_RETRYABLE = {
    "uploaded": N_("esta importação ainda não foi iniciada: escolha as colunas e importe"),
    "queued": N_("esta importação já está na fila"),
    "running": N_("esta importação está em andamento"),
    "completed": N_("esta importação já foi concluída"),
    "cancelled": N_("esta importação foi cancelada: envie o arquivo de novo para importá-lo"),
}


async def retry_import(
    session: AsyncSession,
    actor: Identity,
    job_id: uuid.UUID,
    *,
    dead_lettered: bool,
    held_elsewhere: bool,
) -> tuple[ImportJob, OutboxItem]:
    """Queue a failed (or dead-lettered) job again; it resumes after its last checkpoint.

    `dead_lettered` says its queue entry is in the dead letters: a job left `queued` or
    `running` that way has no runner, unless one holds its lease (`held_elsewhere`). Rows
    already imported are recognised and not applied twice. The caller records the outbox item.
    """
    job = await repository.get_job(session, actor.company_id, job_id, lock=True)
    if job is None:
        raise NotFound(N_("importação não encontrada"))
    stranded = job.status in ("queued", "running") and dead_lettered and not held_elsewhere
    if job.status != "failed" and not stranded:
        raise Conflict(
            _NOT_RETRYABLE.get(job.status, N_("esta importação não pode ser tentada de novo")),
            status=job.status,
        )
    if not job.file_path or not await asyncio.to_thread(Path(job.file_path).exists):
        raise Conflict(
            N_("o arquivo desta importação não está mais disponível: envie-o de novo"),
            status=job.status,
        )
    previous = {"status": job.status, "error": job.error, "processed_rows": job.processed_rows}
    await repository.requeue_job(session, job)
    await audit_action(
        session,
        actor,
        "import.retried",
        "import_job",
        job.id,
        {**previous, "file_name": job.file_name, "dead_lettered": dead_lettered},
    )
    item = OutboxItem(IMPORT_STREAM, {"job_id": str(job.id), "company_id": str(actor.company_id)})
    return job, item


async def failed_rows_file(
    session: AsyncSession, company_id: uuid.UUID, job_id: uuid.UUID
) -> tuple[Path, str]:
    """The failed-rows CSV of a finished job and the name to download it as."""
    job = await _job(session, company_id, job_id)
    failed = Path(job.failed_path) if job.failed_path else None
    if failed is not None and await asyncio.to_thread(failed.exists):
        stem = Path(job.file_name).stem or "contatos"
        return failed, f"{stem}-linhas-com-problemas.csv"
    if job.status in ("uploaded", "queued", "running"):
        raise Conflict(N_("a importação ainda não terminou"), status=job.status)
    raise NotFound(N_("nenhuma linha teve problemas nesta importação"))


async def bulk_import(
    session: AsyncSession,
    actor: Identity,
    contacts: Sequence[BulkContact],
    *,
    policy: Policy,
    default_region: str,
) -> BulkResult:
    """Create or update up to BULK_MAX_CONTACTS contacts with the CSV import's rules."""
    if not contacts:
        raise ValidationFailed(N_("envie ao menos um contato"))
    if len(contacts) > limits.BULK_MAX_CONTACTS:
        raise ValidationFailed(
            N_("no máximo {limit} contatos por requisição", limit=limits.BULK_MAX_CONTACTS)
        )
    _check_region(default_region)
    rules = RowRules(
        default_region=default_region,
        definitions=await load_definitions(session, actor.company_id),
        stages=await repository.stage_pairs(session, actor.company_id),
    )
    cleaned: list[tuple[int, CleanContact]] = []
    items: list[BulkItem | None] = [None] * len(contacts)
    for index, contact in enumerate(contacts):
        result = rules.clean(
            RawContact(
                phone=contact.phone,
                name=contact.name,
                email=contact.email,
                source=contact.source,
                stage=contact.stage,
                tags=contact.tags,
                custom=contact.custom_fields,
            )
        )
        if isinstance(result, str):
            items[index] = BulkItem(index=index, status="failed", reason=result)
        else:
            cleaned.append((index, result))
    batch = await apply_batch(
        await driver_connection(session),
        actor.company_id,
        stage_rows(cleaned),
        policy=policy,
        default_source=BULK_SOURCE,
        actor_id=actor.user_id,
        details={"via": "api"},
        with_rows=True,
    )
    warnings = {index: clean.warnings for index, clean in cleaned if clean.warnings}
    for index, outcome, contact_id in batch.rows or []:
        items[index] = BulkItem(
            index=index,
            status=outcome,
            contact_id=contact_id,
            warnings=warnings.get(index, []),
        )
    await list_rules.apply_to_contacts(
        session,
        actor.company_id,
        [
            contact_id
            for _, outcome, contact_id in batch.rows or []
            if outcome in ("created", "updated")
        ],
    )
    done = [item for item in items if item is not None]
    return BulkResult(
        created=batch.created,
        updated=batch.updated,
        skipped=batch.skipped,
        failed=sum(1 for item in done if item.status == "failed"),
        warned=len(warnings),
        items=done,
    )
