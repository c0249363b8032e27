"""The funnel and custom fields admin page: add, rename, reorder and remove funnel stages and
custom contact attributes (admins; 404 for everyone else, RLS again in Postgres).

A refused change comes back on the page with its problem (and what was typed, for a new
definition) instead of an error page; a done one redirects with a notice. Renaming keeps the
definition's key, which contacts, saved segments and list rules hold.
"""

from __future__ import annotations

import re
import unicodedata
import uuid
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError

from zapcrm.contacts import definitions
from zapcrm.contacts.schemas import (
    MAX_POSITION,
    AttributeChange,
    AttributeIn,
    StageIn,
)
from zapcrm.dependencies import RuntimeDep
from zapcrm.exceptions import ValidationFailed, ZapcrmError
from zapcrm.models import ContactAttribute, FunnelStage
from zapcrm.web.dependencies import ActingPanelUser, CurrentPanelUser, PanelUser, require_admin
from zapcrm.web.form_errors import form_errors
from zapcrm.web.i18n import N_
from zapcrm.web.templating import render

router = APIRouter()

TYPE_LABELS = {
    "text": N_("Texto"),
    "number": N_("Número"),
    "date": N_("Data"),
    "boolean": N_("Sim/não"),
    "list": N_("Lista de opções"),
}


def key_from_label(label: str) -> str:
    """A definition key from its label: "Data de nascimento" -> "data_de_nascimento"."""
    ascii_label = unicodedata.normalize("NFKD", label).encode("ascii", "ignore").decode().lower()
    key = re.sub(r"[^a-z0-9]+", "_", ascii_label).strip("_")
    if not key or not key[0].isalpha():
        key = f"campo_{key}" if key else "campo"
    return key[:50]


def _options(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


async def _page(
    request: Request,
    runtime: RuntimeDep,
    user: PanelUser,
    *,
    failure: Exception | None = None,
    values: dict[str, str] | None = None,
    editing: uuid.UUID | None = None,
) -> Response:
    """The page; after a refused change, with its problem and the form it came from open."""
    error, errors = form_errors(failure) if failure is not None else (None, [])
    async with runtime.db.tenant_session(user.identity.claims) as session:
        stages = await definitions.list_stages(session, user.identity)
        attributes = await definitions.list_attributes(session, user.identity)
    context = user.page_context(request, "admin", section="fields") | {
        "stages": stages,
        "attributes": attributes,
        "types": list(TYPE_LABELS.items()),
        "notice": request.query_params.get("ok"),
        "error": error,
        "errors": errors,
        "values": values or {},
        "editing": editing,
    }
    status_code = 200
    if failure is not None:
        status_code = failure.status_code if isinstance(failure, ZapcrmError) else 422
    return render("admin/fields.html", context, status_code=status_code)


def _done(notice: str, request: Request | None = None) -> Response:
    location = f"/panel/admin/fields?ok={notice}"
    # htmx (a removal asks for confirmation through it) follows HX-Redirect; a plain form a 303.
    if request is not None and request.headers.get("hx-request"):
        return Response(status_code=204, headers={"HX-Redirect": location})
    return RedirectResponse(location, status_code=303)


@router.get("/admin/fields")
async def fields_page(request: Request, runtime: RuntimeDep, user: CurrentPanelUser) -> Response:
    """Funnel stages and custom contact attributes."""
    require_admin(user)
    return await _page(request, runtime, user)


@router.post("/admin/stages")
async def create_stage(
    request: Request,
    runtime: RuntimeDep,
    user: ActingPanelUser,
    label: Annotated[str, Form(max_length=100)] = "",
) -> Response:
    """Add a funnel stage at the end of the funnel."""
    require_admin(user)
    try:
        async with runtime.db.tenant_session(user.identity.claims) as session:
            position = len(await definitions.list_stages(session, user.identity))
            try:
                body = StageIn(key=key_from_label(label), label=label.strip(), position=position)
            except ValidationError:
                raise ValidationFailed.on_field("label", N_("dê um nome à etapa")) from None
            await definitions.create_stage(session, user.identity, body)
    except ZapcrmError as failure:
        return await _page(request, runtime, user, failure=failure, values={"stage_label": label})
    return _done("stage")


@router.post("/admin/stages/{definition_id}")
async def rename_stage(
    definition_id: uuid.UUID,
    request: Request,
    runtime: RuntimeDep,
    user: ActingPanelUser,
    label: Annotated[str, Form(max_length=100)] = "",
) -> Response:
    """Rename a funnel stage (its key, which contacts hold, stays)."""
    require_admin(user)
    change = AttributeChange(label=label)
    return await _save(request, runtime, user, FunnelStage, definition_id, change, "renamed")


@router.post("/admin/stages/{definition_id}/move")
async def move_stage(
    definition_id: uuid.UUID,
    request: Request,
    runtime: RuntimeDep,
    user: ActingPanelUser,
    position: Annotated[int, Form(ge=0, le=MAX_POSITION)],
) -> Response:
    """Give a funnel stage another place in the funnel (the up and down buttons)."""
    require_admin(user)
    change = AttributeChange(position=position)
    return await _save(request, runtime, user, FunnelStage, definition_id, change, "moved")


@router.post("/admin/stages/{definition_id}/delete")
async def delete_stage(
    definition_id: uuid.UUID, request: Request, runtime: RuntimeDep, user: ActingPanelUser
) -> Response:
    """Remove a funnel stage (its contacts keep it, shown as a removed stage)."""
    require_admin(user)
    return await _delete(request, runtime, user, FunnelStage, definition_id)


@router.post("/admin/attributes")
async def create_attribute(
    request: Request,
    runtime: RuntimeDep,
    user: ActingPanelUser,
    label: Annotated[str, Form(max_length=100)] = "",
    type: Annotated[str, Form(max_length=20)] = "text",
    options: Annotated[str, Form(max_length=5000)] = "",
) -> Response:
    """Add a custom contact attribute (list options one per line)."""
    require_admin(user)
    typed = {"attribute_label": label, "attribute_type": type, "attribute_options": options}
    try:
        try:
            body = AttributeIn(
                key=key_from_label(label),
                label=label.strip(),
                type=type,
                options=_options(options) if type == "list" else [],
            )
        except ValidationError:
            raise ValidationFailed(N_("dê um nome ao campo e escolha um tipo válido")) from None
        if body.type == "list" and not body.options:
            raise ValidationFailed.on_field(
                "options", N_("um campo do tipo lista precisa de opções (uma por linha)")
            )
        async with runtime.db.tenant_session(user.identity.claims) as session:
            await definitions.create_attribute(session, user.identity, body)
    except ZapcrmError as failure:
        return await _page(request, runtime, user, failure=failure, values=typed)
    return _done("attribute")


@router.post("/admin/attributes/{definition_id}")
async def change_attribute(
    definition_id: uuid.UUID,
    request: Request,
    runtime: RuntimeDep,
    user: ActingPanelUser,
    label: Annotated[str, Form(max_length=100)] = "",
    options: Annotated[str | None, Form(max_length=5000)] = None,
) -> Response:
    """Rename a custom attribute; a list one also gets its options (one per line) replaced."""
    require_admin(user)
    try:
        change = AttributeChange(
            label=label, options=_options(options) if options is not None else None
        )
    except ValidationError as failure:  # more options than a list takes
        return await _page(request, runtime, user, failure=failure, editing=definition_id)
    return await _save(request, runtime, user, ContactAttribute, definition_id, change, "renamed")


@router.post("/admin/attributes/{definition_id}/move")
async def move_attribute(
    definition_id: uuid.UUID,
    request: Request,
    runtime: RuntimeDep,
    user: ActingPanelUser,
    position: Annotated[int, Form(ge=0, le=MAX_POSITION)],
) -> Response:
    """Give a custom attribute another place on the contact's page (up and down buttons)."""
    require_admin(user)
    change = AttributeChange(position=position)
    return await _save(request, runtime, user, ContactAttribute, definition_id, change, "moved")


@router.post("/admin/attributes/{definition_id}/delete")
async def delete_attribute(
    definition_id: uuid.UUID, request: Request, runtime: RuntimeDep, user: ActingPanelUser
) -> Response:
    """Remove a custom attribute (values already stored on contacts stay in their data)."""
    require_admin(user)
    return await _delete(request, runtime, user, ContactAttribute, definition_id)


async def _save(
    request: Request,
    runtime: RuntimeDep,
    user: PanelUser,
    model: type[FunnelStage] | type[ContactAttribute],
    definition_id: uuid.UUID,
    change: AttributeChange,
    notice: str,
) -> Response:
    """Rename or move a stage or an attribute (a stage reads only the label and place of the
    change); refused, the page again with that definition's form open and its reason."""
    try:
        async with runtime.db.tenant_session(user.identity.claims) as session:
            if model is FunnelStage:
                await definitions.change_stage(session, user.identity, definition_id, change)
            else:
                await definitions.change_attribute(session, user.identity, definition_id, change)
    except ZapcrmError as failure:
        return await _page(request, runtime, user, failure=failure, editing=definition_id)
    return _done(notice)


async def _delete(
    request: Request,
    runtime: RuntimeDep,
    user: PanelUser,
    model: type[FunnelStage] | type[ContactAttribute],
    definition_id: uuid.UUID,
) -> Response:
    async with runtime.db.tenant_session(user.identity.claims) as session:
        await definitions.delete_definition(session, user.identity, model, definition_id)
    return _done("deleted", request)
