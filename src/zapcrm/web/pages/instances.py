"""WhatsApp instances (admins): add or create one, pair it by QR code, watch its connection
live, reconnect, log out, sync rotated credentials. The panel shows that it uses Evolution API,
as the gateway's licence asks."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError

from zapcrm.dependencies import RuntimeDep
from zapcrm.evolution.admin import InstanceAdmin, company_instances
from zapcrm.evolution.credentials import CredentialBox
from zapcrm.evolution.rotation import sync_for_admin
from zapcrm.evolution.schemas import InstanceIn
from zapcrm.exceptions import ValidationFailed
from zapcrm.runtime import Runtime
from zapcrm.web.dependencies import ActingPanelUser, CurrentPanelUser, require_admin
from zapcrm.web.i18n import N_, translate
from zapcrm.web.templating import render, render_macro

router = APIRouter()


def _ops(runtime: Runtime) -> InstanceAdmin:
    return InstanceAdmin(runtime, CredentialBox.from_settings(runtime.settings))


@router.get("/admin/instances")
async def instances_page(request: Request, runtime: RuntimeDep, user: CurrentPanelUser) -> Response:
    """Every WhatsApp number of the company and its state."""
    require_admin(user)
    async with runtime.db.tenant_session(user.identity.claims) as session:
        instances = await company_instances(session, user.identity.company_id)
    context = user.page_context(
        request,
        "admin",
        section="instances",
        instances=instances,
        can_create=runtime.settings.evolution_global_key is not None,
        default_server=runtime.settings.evolution_server_url,
        done=request.query_params.get("ok"),
    )
    return render("admin/instances.html", context)


@router.post("/admin/instances")
async def add_instance(
    runtime: RuntimeDep,
    user: ActingPanelUser,
    name: Annotated[str, Form(max_length=200)] = "",
    token: Annotated[str, Form(max_length=200)] = "",
    server_url: Annotated[str, Form(max_length=500)] = "",
) -> Response:
    """Register an existing instance (with its token) or create one on the gateway."""
    require_admin(user)
    try:
        body = InstanceIn(name=name.strip(), token=token or None, server_url=server_url or None)
    except ValidationError:
        raise ValidationFailed(
            N_("nome (letras, números, . _ -), token de 8+ caracteres e URL http(s) válidos")
        ) from None
    async with runtime.db.tenant_session(user.identity.claims) as session:
        instance_id, _qrcode = await _ops(runtime).add(
            session, user.identity, name=body.name, token=body.token, server_url=body.server_url
        )
    target = f"/panel/admin/instances?ok=added#instance-{instance_id}"
    return RedirectResponse(target, status_code=303)


@router.post("/admin/instances/sync")
async def sync_credentials(runtime: RuntimeDep, user: ActingPanelUser) -> Response:
    """Fetch the tokens from Evolution now and store the ones that were rotated."""
    require_admin(user)
    report = await sync_for_admin(runtime, user.identity)
    message = N_(
        "{checked} instância(s) conferida(s), {rotated} token(s) atualizado(s).",
        checked=report.checked,
        rotated=len(report.rotated),
    )
    if report.failed_servers:
        message = N_(
            "{summary} Sem resposta de: {servers}",
            summary=message,
            servers=", ".join(report.failed_servers),
        )
    return render("_toast.html", {"message": translate(message), "kind": "ok"})


async def _card(runtime: Runtime, user: Any, instance_id: uuid.UUID, **extra: Any) -> Response:
    instance = await _ops(runtime).describe(user.identity, instance_id)
    return HTMLResponse(
        render_macro(
            "admin/_instance.html", "instance_card", instance, user.session.csrf_token, **extra
        )
    )


@router.post("/admin/instances/{instance_id}/state")
async def refresh_state(
    instance_id: uuid.UUID, runtime: RuntimeDep, user: ActingPanelUser
) -> Response:
    """Ask the gateway for the connection state now."""
    require_admin(user)
    await _ops(runtime).state(user.identity, instance_id)
    return await _card(runtime, user, instance_id)


@router.post("/admin/instances/{instance_id}/qrcode")
async def show_qrcode(
    instance_id: uuid.UUID, runtime: RuntimeDep, user: ActingPanelUser
) -> Response:
    """The pairing QR code to scan in WhatsApp (Aparelhos conectados)."""
    require_admin(user)
    qrcode = await _ops(runtime).qrcode(user.identity, instance_id)
    return await _card(runtime, user, instance_id, qrcode=qrcode)


@router.post("/admin/instances/{instance_id}/reconnect")
async def reconnect(instance_id: uuid.UUID, runtime: RuntimeDep, user: ActingPanelUser) -> Response:
    """Restart the instance's connection on the gateway."""
    require_admin(user)
    await _ops(runtime).reconnect(user.identity, instance_id)
    return await _card(runtime, user, instance_id, message=N_("Reconexão pedida ao gateway."))


@router.post("/admin/instances/{instance_id}/logout")
async def logout(instance_id: uuid.UUID, runtime: RuntimeDep, user: ActingPanelUser) -> Response:
    """Unpair the phone (the instance stays registered and can pair again)."""
    require_admin(user)
    await _ops(runtime).logout(user.identity, instance_id)
    return await _card(runtime, user, instance_id, message=N_("Telefone desconectado."))
