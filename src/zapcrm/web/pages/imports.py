"""The contact import wizard: upload a CSV, map its columns, watch it run, get the failed rows,
retry a failed run, stop a running one or discard an upload never started."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from zapcrm.contacts import definitions
from zapcrm.contacts.importing import edge
from zapcrm.contacts.importing import service as import_service
from zapcrm.contacts.importing.limits import MAX_FILE_BYTES, MAX_ROWS
from zapcrm.contacts.importing.schemas import ImportJobOut, ImportStart
from zapcrm.dependencies import RuntimeDep
from zapcrm.exceptions import ValidationFailed
from zapcrm.web.dependencies import ActingPanelUser, CurrentPanelUser, PanelUser
from zapcrm.web.i18n import N_
from zapcrm.web.templating import render, render_macro

router = APIRouter()

TARGET_LABELS = {
    "ignore": N_("Ignorar"),
    "name": N_("Nome"),
    "phone": N_("Telefone"),
    "email": N_("E-mail"),
    "tags": N_("Etiquetas"),
    "source": N_("Origem"),
    "stage": N_("Etapa do funil"),
}
POLICY_LABELS = {
    "skip": N_("Manter como está (pular)"),
    "fill_empty": N_("Preencher só os campos vazios"),
    "overwrite": N_("Sobrescrever com os dados do arquivo"),
}


async def _job(session: AsyncSession, user: PanelUser, job_id: uuid.UUID) -> ImportJobOut:
    return ImportJobOut.of(
        await import_service.get_import(session, user.identity.company_id, job_id)
    )


@router.get("/contacts/import")
async def import_home(request: Request, runtime: RuntimeDep, user: CurrentPanelUser) -> Response:
    """The upload form and the recent imports."""
    async with runtime.db.tenant_session(user.identity.claims) as session:
        jobs = await import_service.list_imports(session, user.identity.company_id)
        recent = [ImportJobOut.of(job) for job in jobs]
    context = user.page_context(request, "contacts") | {
        "recent": recent,
        "max_megabytes": MAX_FILE_BYTES // (1024 * 1024),
        "max_rows": MAX_ROWS,
    }
    return render("imports/home.html", context)


@router.post("/contacts/import")
async def upload(request: Request, runtime: RuntimeDep, user: ActingPanelUser) -> Response:
    """Receive the file (streamed to disk, limits enforced) and go to the mapping step.

    The form is posted by htmx so the CSRF token travels in a header: reading a form field
    would make Starlette spool the whole file before the size limit could stop it.
    """
    job = await edge.accept_upload(request, user.identity, runtime)
    return Response(status_code=204, headers={"HX-Redirect": f"/panel/contacts/import/{job.id}"})


@router.get("/contacts/import/{job_id}")
async def import_job(
    job_id: uuid.UUID, request: Request, runtime: RuntimeDep, user: CurrentPanelUser
) -> Response:
    """Mapping (before the start), then live progress and the result."""
    async with runtime.db.tenant_session(user.identity.claims) as session:
        job = await _job(session, user, job_id)
        attributes = await definitions.list_attributes(session, user.identity)
    targets = list(TARGET_LABELS.items()) + [
        (f"custom.{attribute.key}", attribute.label) for attribute in attributes
    ]
    context = user.page_context(request, "contacts") | {
        "job": job,
        "targets": targets,
        "policies": list(POLICY_LABELS.items()),
    }
    return render("imports/job.html", context)


@router.get("/contacts/import/{job_id}/progress")
async def import_progress(
    job_id: uuid.UUID, runtime: RuntimeDep, user: CurrentPanelUser
) -> Response:
    """The progress block as it stands (the page reloads it whenever its live stream opens,
    and every few seconds while the import waits or runs)."""
    async with runtime.db.tenant_session(user.identity.claims) as session:
        job = await _job(session, user, job_id)
    return HTMLResponse(render_macro("imports/_progress.html", "job_progress", job))


@router.post("/contacts/import/{job_id}/start")
async def start(
    job_id: uuid.UUID, request: Request, runtime: RuntimeDep, user: ActingPanelUser
) -> Response:
    """Start with the chosen mapping; the job page then shows the progress live."""
    form = await request.form()
    mapping = {
        str(form.get(f"column_{index}", "")): str(value)
        for key, value in form.multi_items()
        if key.startswith("target_") and (index := key.removeprefix("target_")).isdigit()
    }
    mapping.pop("", None)
    try:
        body = ImportStart(
            mapping=mapping,
            existing_policy=str(form.get("existing_policy", "skip")),
            default_region=str(form.get("default_region", "BR")).upper(),
        )
    except ValidationError:
        raise ValidationFailed(N_("escolha uma política e uma região válidas")) from None
    await edge.begin_import(user.identity, runtime, job_id, body)
    return RedirectResponse(f"/panel/contacts/import/{job_id}", status_code=303)


@router.post("/contacts/import/{job_id}/retry")
async def retry(job_id: uuid.UUID, runtime: RuntimeDep, user: ActingPanelUser) -> Response:
    """Queue a failed job again; answers with the progress block, which then updates live."""
    job = await edge.retry_import(user.identity, runtime, job_id)
    return HTMLResponse(render_macro("imports/_progress.html", "job_progress", job))


@router.post("/contacts/import/{job_id}/cancel")
async def cancel(
    job_id: uuid.UUID, request: Request, runtime: RuntimeDep, user: ActingPanelUser
) -> Response:
    """Stop an import between chunks (the contacts already imported stay) and answer htmx with
    the progress block; a plain form post discards an upload that was never started and goes
    back to the imports list, where it no longer waits for a mapping."""
    async with runtime.db.tenant_session(user.identity.claims) as session:
        job = await import_service.cancel_import(session, user.identity.company_id, job_id)
    if request.headers.get("HX-Request") == "true":
        return HTMLResponse(
            render_macro("imports/_progress.html", "job_progress", ImportJobOut.of(job))
        )
    return RedirectResponse("/panel/contacts/import", status_code=303)


@router.get("/contacts/import/{job_id}/failed.csv")
async def failed_rows(job_id: uuid.UUID, runtime: RuntimeDep, user: CurrentPanelUser) -> Response:
    """The rows that failed, each with its line and reason."""
    async with runtime.db.tenant_session(user.identity.claims) as session:
        path, name = await import_service.failed_rows_file(
            session, user.identity.company_id, job_id
        )
    return FileResponse(path, media_type="text/csv; charset=utf-8", filename=name)
