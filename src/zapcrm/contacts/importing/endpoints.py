"""Import endpoints: CSV upload with preview, start, progress, failed rows, cancel, retry; bulk
JSON.

Register before any router with a catch-all `/api/contacts/{...}` path. The upload route
needs a body limit of `limits.UPLOAD_BODY_LIMIT_BYTES` in BodySizeLimitMiddleware.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Body, Query, Request, status
from fastapi.responses import FileResponse

from zapcrm.contacts.importing import edge, service
from zapcrm.contacts.importing.schemas import (
    BulkContact,
    BulkResult,
    ImportJobOut,
    ImportList,
    ImportStart,
    Policy,
    Region,
)
from zapcrm.dependencies import CurrentUser, RuntimeDep, TenantSession

router = APIRouter(tags=["contacts"])

_UPLOAD_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file"],
                    "properties": {"file": {"type": "string", "format": "binary"}},
                }
            }
        },
    }
}


@router.post(
    "/api/contacts/imports",
    status_code=status.HTTP_201_CREATED,
    openapi_extra=_UPLOAD_BODY,
)
async def upload_import(
    request: Request, identity: CurrentUser, runtime: RuntimeDep
) -> ImportJobOut:
    """Upload a CSV (field `file`); answers with the detected format, sample rows and a mapping.

    Limits: 100 MB, 1,000,000 data rows, 131,072 characters per cell.
    """
    return await edge.accept_upload(request, identity, runtime)


@router.post("/api/contacts/imports/{job_id}/start", status_code=status.HTTP_202_ACCEPTED)
async def start_import(
    job_id: uuid.UUID, body: ImportStart, identity: CurrentUser, runtime: RuntimeDep
) -> ImportJobOut:
    """Start an uploaded import with a column mapping; it runs in the background."""
    return await edge.begin_import(identity, runtime, job_id, body)


@router.get("/api/contacts/imports")
async def list_imports(identity: CurrentUser, session: TenantSession) -> ImportList:
    """Recent imports (operators see their own, supervisors the company's)."""
    jobs = await service.list_imports(session, identity.company_id)
    return ImportList(items=[ImportJobOut.of(job) for job in jobs])


@router.get("/api/contacts/imports/{job_id}")
async def get_import(
    job_id: uuid.UUID, identity: CurrentUser, session: TenantSession
) -> ImportJobOut:
    """Status, counts and progress (rows done, rows/s, ETA) of one import."""
    return ImportJobOut.of(await service.get_import(session, identity.company_id, job_id))


@router.get("/api/contacts/imports/{job_id}/failed.csv", response_class=FileResponse)
async def failed_rows(
    job_id: uuid.UUID, identity: CurrentUser, session: TenantSession
) -> FileResponse:
    """The rows that failed, each with its line and reason (spreadsheet formulas neutralised)."""
    path, name = await service.failed_rows_file(session, identity.company_id, job_id)
    return FileResponse(path, media_type="text/csv; charset=utf-8", filename=name)


@router.post("/api/contacts/imports/{job_id}/cancel")
async def cancel_import(
    job_id: uuid.UUID, identity: CurrentUser, session: TenantSession
) -> ImportJobOut:
    """Stop an import between chunks; contacts already imported stay."""
    return ImportJobOut.of(await service.cancel_import(session, identity.company_id, job_id))


@router.post("/api/contacts/imports/{job_id}/retry", status_code=status.HTTP_202_ACCEPTED)
async def retry_import(
    job_id: uuid.UUID, identity: CurrentUser, runtime: RuntimeDep
) -> ImportJobOut:
    """Queue a failed (or dead-lettered) import again; it resumes where it stopped.

    Rows already imported are not applied twice. Its creator and supervisors may retry it;
    409 when the job is not in a retryable state.
    """
    return await edge.retry_import(identity, runtime, job_id)


@router.post("/api/contacts/bulk")
async def bulk_contacts(
    contacts: Annotated[list[BulkContact], Body()],
    identity: CurrentUser,
    session: TenantSession,
    existing_policy: Annotated[Policy, Query()] = "skip",
    default_region: Annotated[Region, Query()] = "BR",
) -> BulkResult:
    """Create or update up to 1,000 contacts at once (external integrations).

    Same rules and result as a CSV import, synchronously, with one entry per item.
    """
    return await service.bulk_import(
        session, identity, contacts, policy=existing_policy, default_region=default_region
    )
