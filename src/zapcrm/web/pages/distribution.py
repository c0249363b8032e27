"""Automatic distribution in the panel: the header's "taking chats" switch, and the admin page
where supervisors see the team (switch, panel open, open chats) and admins turn distribution
on with a per-agent limit and choose when idle chats close by themselves.

The switch is a small fragment every page loads after it opens (like the tasks badge), so
pages do not pay for it in their own render.
"""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from zapcrm.departments import service as departments_service
from zapcrm.dependencies import RuntimeDep
from zapcrm.distribution import service
from zapcrm.distribution.schemas import (
    MAX_CLOSING_MESSAGE,
    MAX_IDLE_HOURS,
    MAX_OPEN_LIMIT,
    DistributionSettingsIn,
)
from zapcrm.exceptions import ZapcrmError
from zapcrm.outbox import OutboxItem
from zapcrm.runtime import Runtime
from zapcrm.transactions import in_tenant_transaction
from zapcrm.web.dependencies import (
    ActingPanelUser,
    CurrentPanelUser,
    PanelUser,
    require_admin,
    require_supervisor,
)
from zapcrm.web.form_errors import form_errors
from zapcrm.web.templating import render

router = APIRouter()


async def _switch(runtime: Runtime, user: PanelUser) -> Response:
    async with runtime.db.tenant_session(user.identity.claims) as session:
        availability = await service.availability(session, user.identity)
    return render(
        "distribution/_switch.html",
        {"availability": availability, "csrf_token": user.session.csrf_token},
    )


@router.get("/availability")
async def availability_switch(runtime: RuntimeDep, user: CurrentPanelUser) -> Response:
    """The header's switch (nothing while the company does not distribute)."""
    return await _switch(runtime, user)


@router.post("/availability")
async def set_availability(
    request: Request,
    runtime: RuntimeDep,
    user: ActingPanelUser,
    accepting: Annotated[str, Form(max_length=5)] = "",
) -> Response:
    """Turn one's own switch on ("1") or off (anything else)."""
    async with runtime.db.tenant_session(user.identity.claims) as session:
        await service.set_availability(session, user.identity, accepting == "1")
    if request.headers.get("hx-request"):
        return await _switch(runtime, user)
    return RedirectResponse("/panel/", status_code=303)


@router.get("/admin/distribution")
async def distribution_page(
    request: Request, runtime: RuntimeDep, user: CurrentPanelUser
) -> Response:
    """The settings and the team as the distributor sees them (supervisors and admins)."""
    require_supervisor(user)
    return await _page(request, runtime, user)


@router.post("/admin/distribution")
async def save_distribution(
    request: Request,
    runtime: RuntimeDep,
    user: ActingPanelUser,
    enabled: Annotated[str, Form(max_length=5)] = "",
    max_open_per_agent: Annotated[str, Form(max_length=10)] = "",
    idle_close_hours: Annotated[str, Form(max_length=10)] = "",
    idle_close_message: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    """Save the settings (admins); the distributor applies them within seconds."""
    require_admin(user)
    typed: dict[str, object] = {
        "enabled": enabled == "on",
        "max_open_per_agent": max_open_per_agent.strip(),
        "idle_close_hours": idle_close_hours.strip(),
        "idle_close_message": idle_close_message.strip(),
    }
    try:
        # A blank number box means "none" (no limit, never close).
        body = DistributionSettingsIn.model_validate(
            {key: value if value != "" else None for key, value in typed.items()}
        )
        async with runtime.db.tenant_session(user.identity.claims) as session:
            await service.save_settings(session, user.identity, body)
    except (ValidationError, ZapcrmError) as failure:
        message, errors = form_errors(failure)
        return await _page(request, runtime, user, typed, message, errors, 422)
    return RedirectResponse("/panel/admin/distribution?ok=1", status_code=303)


@router.post("/admin/distribution/release/{user_id}")
async def release_conversations(
    user_id: uuid.UUID, runtime: RuntimeDep, user: ActingPanelUser
) -> Response:
    """Give a colleague's open and pending chats back to the queue (supervisors)."""
    require_supervisor(user)

    async def work(session: AsyncSession) -> tuple[int, list[OutboxItem]]:
        return await service.release(session, user.identity, user_id)

    released = await in_tenant_transaction(runtime, user.identity, work)
    return RedirectResponse(f"/panel/admin/distribution?released={released}", status_code=303)


async def _page(
    request: Request,
    runtime: Runtime,
    user: PanelUser,
    typed: dict[str, object] | None = None,
    error: str | None = None,
    errors: list[dict[str, str]] | None = None,
    status_code: int = 200,
) -> Response:
    async with runtime.db.tenant_session(user.identity.claims) as session:
        overview = await service.overview(session, runtime.redis, user.identity)
        departments = await departments_service.list_departments(session, user.identity)
    settings = overview.settings
    form = typed or {
        "enabled": settings.enabled,
        "max_open_per_agent": _box(settings.max_open_per_agent),
        "idle_close_hours": _box(settings.idle_close_hours),
        "idle_close_message": settings.idle_close_message or "",
    }
    context = user.page_context(
        request,
        "admin",
        section="distribution",
        overview=overview,
        department_names={department.id: department.name for department in departments},
        form=form,
        max_limit=MAX_OPEN_LIMIT,
        max_idle_hours=MAX_IDLE_HOURS,
        max_closing_message=MAX_CLOSING_MESSAGE,
        error=error,
        errors=errors or [],
        notice=request.query_params.get("ok"),
        released=_count(request.query_params.get("released")),
    )
    return render("admin/distribution.html", context, status_code=status_code)


def _count(value: str | None) -> int | None:
    return int(value) if value and value.isdigit() and len(value) < 7 else None


def _box(value: int | None) -> str:
    return "" if value is None else str(value)
