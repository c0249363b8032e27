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
from collections.abc import Sequence
from typing import Annotated, Literal

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from zapcrm.contacts import definitions
from zapcrm.contacts.schemas import (
    AttributeChange,
    AttributeIn,
    AttributeOut,
    DefinitionChange,
    StageIn,
    StageOut,
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
Direction = Literal["up", "down"]


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
    try:
        change = DefinitionChange(label=label)
    except ValidationError:
        failure = ValidationFailed.on_field("label", N_("dê um nome à etapa"))
        return await _page(request, runtime, user, failure=failure, editing=definition_id)
    return await _change(request, runtime, user, FunnelStage, definition_id, change)


@router.post("/admin/stages/{definition_id}/move")
async def move_stage(
    definition_id: uuid.UUID,
    runtime: RuntimeDep,
    user: ActingPanelUser,
    direction: Annotated[Direction, Form()],
) -> Response:
    """Move a funnel stage one place earlier or later in the funnel."""
    return await _move(runtime, user, FunnelStage, definition_id, direction)


@router.post("/admin/stages/{definition_id}/delete")
async def delete_stage(
    definition_id: uuid.UUID, request: Request, runtime: RuntimeDep, user: ActingPanelUser
) -> Response:
    """Remove a funnel stage (its contacts keep it, shown as a removed stage)."""
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
    except ValidationError:
        failure = ValidationFailed.on_field("label", N_("dê um nome ao campo"))
        return await _page(request, runtime, user, failure=failure, editing=definition_id)
    return await _change(request, runtime, user, ContactAttribute, definition_id, change)


@router.post("/admin/attributes/{definition_id}/move")
async def move_attribute(
    definition_id: uuid.UUID,
    runtime: RuntimeDep,
    user: ActingPanelUser,
    direction: Annotated[Direction, Form()],
) -> Response:
    """Move a custom attribute one place earlier or later on the contact's page."""
    return await _move(runtime, user, ContactAttribute, definition_id, direction)


@router.post("/admin/attributes/{definition_id}/delete")
async def delete_attribute(
    definition_id: uuid.UUID, request: Request, runtime: RuntimeDep, user: ActingPanelUser
) -> Response:
    """Remove a custom attribute (values already stored on contacts stay in their data)."""
    return await _delete(request, runtime, user, ContactAttribute, definition_id)


Definition = type[FunnelStage] | type[ContactAttribute]


async def _apply(
    session: AsyncSession,
    user: PanelUser,
    model: Definition,
    definition_id: uuid.UUID,
    change: AttributeChange,
) -> None:
    if model is FunnelStage:
        await definitions.change_stage(session, user.identity, definition_id, change)
    else:
        await definitions.change_attribute(session, user.identity, definition_id, change)


async def _change(
    request: Request,
    runtime: RuntimeDep,
    user: PanelUser,
    model: Definition,
    definition_id: uuid.UUID,
    change: DefinitionChange,
) -> Response:
    """Save a rename (and a list's options); refused, the page again with its form open."""
    as_attribute = AttributeChange.model_validate(change.model_dump())
    try:
        async with runtime.db.tenant_session(user.identity.claims) as session:
            await _apply(session, user, model, definition_id, as_attribute)
    except ZapcrmError as failure:
        return await _page(request, runtime, user, failure=failure, editing=definition_id)
    return _done("renamed")


async def _move(
    runtime: RuntimeDep,
    user: PanelUser,
    model: Definition,
    definition_id: uuid.UUID,
    direction: Direction,
) -> Response:
    require_admin(user)
    async with runtime.db.tenant_session(user.identity.claims) as session:
        listed: Sequence[StageOut | AttributeOut] = (
            await definitions.list_stages(session, user.identity)
            if model is FunnelStage
            else await definitions.list_attributes(session, user.identity)
        )
        place = _next_place([item.id for item in listed], definition_id, direction)
        await _apply(session, user, model, definition_id, AttributeChange(position=place))
    return _done("moved")


async def _delete(
    request: Request,
    runtime: RuntimeDep,
    user: PanelUser,
    model: Definition,
    definition_id: uuid.UUID,
) -> Response:
    require_admin(user)
    async with runtime.db.tenant_session(user.identity.claims) as session:
        await definitions.delete_definition(session, user.identity, model, definition_id)
    return _done("deleted", request)


def _next_place(ids: list[uuid.UUID], definition_id: uuid.UUID, direction: Direction) -> int:
    """The place one step up or down from where the definition is (unknown ids: the service
    answers 404); the first stays first and the last stays last."""
    here = ids.index(definition_id) if definition_id in ids else 0
    return max(here - 1, 0) if direction == "up" else here + 1
