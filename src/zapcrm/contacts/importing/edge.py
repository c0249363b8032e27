"""The two import steps that span a file and a transaction, shared by the API and the panel.

Both edges (JSON API and HTML panel) receive the upload and start the job the same way; the
transaction is owned here, at the edge layer, so the service underneath still never commits.
"""

from __future__ import annotations

import uuid

from starlette.requests import Request

from zapcrm.auth.identity import Identity
from zapcrm.contacts.importing import service
from zapcrm.contacts.importing.schemas import ImportJobOut, ImportStart
from zapcrm.contacts.importing.upload import receive_csv
from zapcrm.outbox import record
from zapcrm.runtime import Runtime


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
