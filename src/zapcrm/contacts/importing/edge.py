"""The import steps that span a file or Redis and a transaction, shared by the API and the panel.

Both edges (JSON API and HTML panel) receive the upload, start and retry the job the same way;
the transaction is owned here, at the edge layer, so the service underneath still never commits.
"""

from __future__ import annotations

import uuid

from redis.exceptions import RedisError
from starlette.requests import Request

from zapcrm.auth.identity import Identity
from zapcrm.contacts.importing import jobs, service
from zapcrm.contacts.importing.schemas import ImportJobOut, ImportStart
from zapcrm.contacts.importing.upload import receive_csv
from zapcrm.logging import get_logger
from zapcrm.outbox import record
from zapcrm.runtime import Runtime
from zapcrm.worker import drop_dead

log = get_logger(__name__)


async def accept_upload(request: Request, identity: Identity, runtime: Runtime) -> ImportJobOut:
    """Stream the CSV to disk, profile it and register the job (the file goes on failure)."""
    job_id = uuid.uuid4()
    path = service.upload_path(runtime.settings, identity.company_id, job_id)
    upload = await receive_csv(request, path)
    try:
        profile = await service.inspect_upload(path)
        async with runtime.db.tenant_session(identity.claims) as session:
            job = await service.register_upload(
                session,
                company_id=identity.company_id,
                created_by=identity.user_id,
                job_id=job_id,
                file_name=upload.file_name,
                path=path,
                size=upload.size,
                profile=profile,
            )
            return ImportJobOut.of(job)
    except BaseException:
        service.discard_upload(path)
        raise


async def begin_import(
    identity: Identity, runtime: Runtime, job_id: uuid.UUID, body: ImportStart
) -> ImportJobOut:
    """Save the mapping and queue the job on `contacts:import` (published after commit)."""
    async with runtime.db.tenant_session(identity.claims) as session:
        job, item = await service.start_import(session, identity.company_id, job_id, body)
        entries = await record(session, identity.company_id, [item])
        result = ImportJobOut.of(job)
    await runtime.outbox.publish(entries)
    return result


async def retry_import(identity: Identity, runtime: Runtime, job_id: uuid.UUID) -> ImportJobOut:
    """Queue a failed or dead-lettered job again, then drop its dead letters (after commit)."""
    dead = await jobs.dead_letter_ids(runtime.redis, job_id)
    held = await jobs.held_elsewhere(runtime.redis, job_id)
    async with runtime.db.tenant_session(identity.claims) as session:
        job, item = await service.retry_import(
            session, identity, job_id, dead_lettered=bool(dead), held_elsewhere=held
        )
        entries = await record(session, identity.company_id, [item])
        result = ImportJobOut.of(job)
    await runtime.outbox.publish(entries)
    if dead:
        try:
            await drop_dead(runtime.redis, jobs.IMPORT_STREAM, dead)
        except (RedisError, OSError) as error:
            # The job is queued again all the same; a letter left behind only shows in the
            # queue alerts, and replaying it later is a no-op (the handler is idempotent).
            log.warning(
                "import.dead_letter_not_dropped",
                job_id=str(job_id),
                error_type=type(error).__name__,
            )
    return result
