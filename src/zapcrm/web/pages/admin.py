"""Admin pages: users and roles, the company's settings (admins), and the team's quick
replies (supervisors and admins); funnel stages and custom fields are in fields.py.

Every handler checks the role first (404 otherwise, like every page a user may not see); RLS
applies the same rule again in Postgres.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated, Literal

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import EmailStr, TypeAdapter, ValidationError

from zapcrm.accounts import invites, mail
from zapcrm.accounts import service as accounts_service
from zapcrm.accounts.schemas import UserAdminOut, UserCreate
from zapcrm.dependencies import RuntimeDep
from zapcrm.exceptions import Conflict, RateLimited, ValidationFailed, ZapcrmError
from zapcrm.kit.ratelimit import hit
from zapcrm.kit.zones import zone_choices
from zapcrm.models import Role
from zapcrm.quickreplies import service as quick_replies
from zapcrm.quickreplies.schemas import QuickReplyIn
from zapcrm.runtime import Runtime
from zapcrm.web.dependencies import (
    ActingPanelUser,
    CurrentPanelUser,
    PanelUser,
    company_config_key,
    require_admin,
    require_supervisor,
)
from zapcrm.web.form_errors import form_errors
from zapcrm.web.i18n import N_, current_locale, translate
from zapcrm.web.templating import render

router = APIRouter()

ROLE_LABELS = {
    "operator": N_("Atendente"),
    "supervisor": N_("Supervisor"),
    "admin": N_("Administrador"),
}


@router.get("/admin")
async def admin_home(user: CurrentPanelUser) -> Response:
    """The admin area starts at users (supervisors: at quick replies)."""
    require_supervisor(user)
    target = "/panel/admin/users" if user.is_admin else "/panel/admin/quick-replies"
    return RedirectResponse(target, status_code=303)


@router.get("/admin/quick-replies")
async def quick_replies_page(
    request: Request, runtime: RuntimeDep, user: CurrentPanelUser
) -> Response:
    """The team's canned answers, with the variables they may use."""
    require_supervisor(user)
    return await _quick_replies(request, runtime, user)


async def _quick_replies(
    request: Request,
    runtime: Runtime,
    user: PanelUser,
    *,
    values: dict[str, str] | None = None,
    failure: ValidationError | ZapcrmError | None = None,
) -> Response:
    """The page; after a refused form, with what was typed and each problem by its field."""
    error, errors = form_errors(failure) if failure is not None else (None, [])
    async with runtime.db.tenant_session(user.identity.claims) as session:
        replies = await quick_replies.list_quick_replies(session, user.identity)
    context = user.page_context(
        request,
        "admin",
        section="quick-replies",
        replies=replies,
        notice=request.query_params.get("ok"),
        values=values or {},
        error=error,
        errors=errors,
    )
    status_code = 200
    if failure is not None:
        status_code = failure.status_code if isinstance(failure, ZapcrmError) else 422
    return render("admin/quick_replies.html", context, status_code=status_code)


@router.post("/admin/quick-replies")
async def create_quick_reply(
    request: Request,
    runtime: RuntimeDep,
    user: ActingPanelUser,
    shortcut: Annotated[str, Form(max_length=60)] = "",
    title: Annotated[str, Form(max_length=100)] = "",
    body: Annotated[str, Form(max_length=4096)] = "",
) -> Response:
    """Add a quick reply; a taken or malformed shortcut comes back on the form (409, 422)."""
    require_supervisor(user)
    try:
        data = QuickReplyIn(shortcut=shortcut, title=title, body=body)
        async with runtime.db.tenant_session(user.identity.claims) as session:
            await quick_replies.create_quick_reply(session, user.identity, data)
    except (ValidationError, Conflict) as failure:
        values = {"shortcut": shortcut, "title": title, "body": body}
        return await _quick_replies(request, runtime, user, values=values, failure=failure)
    return RedirectResponse("/panel/admin/quick-replies?ok=created", status_code=303)


@router.post("/admin/quick-replies/{quick_reply_id}/delete")
async def delete_quick_reply(
    quick_reply_id: uuid.UUID, runtime: RuntimeDep, user: ActingPanelUser
) -> Response:
    """Remove a quick reply."""
    require_supervisor(user)
    async with runtime.db.tenant_session(user.identity.claims) as session:
        await quick_replies.delete_quick_reply(session, user.identity, quick_reply_id)
    return RedirectResponse("/panel/admin/quick-replies?ok=deleted", status_code=303)


@router.get("/admin/users")
async def users_page(request: Request, runtime: RuntimeDep, user: CurrentPanelUser) -> Response:
    """The company's users, their roles and the form to add one."""
    require_admin(user)
    return await _users(request, runtime, user)


async def _users(
    request: Request,
    runtime: RuntimeDep,
    user: PanelUser,
    *,
    error: str | None = None,
    values: dict[str, str] | None = None,
    status_code: int = 200,
    invite: InviteShown | None = None,
    invite_error: str | None = None,
    invite_values: dict[str, str] | None = None,
) -> Response:
    async with runtime.db.tenant_session(user.identity.claims) as session:
        profiles = await accounts_service.list_users(session, user.identity.company_id)
    # Invitations are the service role's (their token hashes never reach a tenant session).
    async with runtime.db.service_session() as session:
        pending = await invites.list_open_invites(session, user.identity.company_id)
    users = sorted((UserAdminOut.of(p) for p in profiles), key=lambda u: u.display_name.lower())
    context = user.page_context(request, "admin", section="users") | {
        "users": users,
        "roles": list(ROLE_LABELS.items()),
        "error": error,
        "values": values or {},
        "notice": request.query_params.get("ok"),
        "invites": [
            {"invite": item, "expired": invites.state_of(item) is invites.InviteState.EXPIRED}
            for item in pending
        ],
        "invited_ids": {item.user_id for item in pending},
        "shown_invite": invite,
        "invite_error": invite_error,
        "invite_values": invite_values or {},
        "smtp_configured": mail.smtp_configured(runtime.settings),
    }
    return render("admin/users.html", context, status_code=status_code)


@router.post("/admin/users")
async def create_user(
    request: Request,
    runtime: RuntimeDep,
    user: ActingPanelUser,
    email: Annotated[str, Form(max_length=255)] = "",
    display_name: Annotated[str, Form(max_length=200)] = "",
    role: Annotated[str, Form(max_length=20)] = "operator",
    password: Annotated[str, Form(max_length=72)] = "",
) -> Response:
    """Create a login for a colleague with an initial password."""
    require_admin(user)
    values = {"email": email, "display_name": display_name, "role": role}
    try:
        body = UserCreate(
            email=email.strip(), password=password, role=role, display_name=display_name
        )
    except ValidationError as failure:
        fields = {str(item["loc"][0]) for item in failure.errors()}
        message = (
            translate(N_("Confira o e-mail."))
            if "email" in fields
            else translate(N_("A senha precisa de 8 a 72 caracteres."))
        )
        return await _users(request, runtime, user, error=message, values=values, status_code=422)
    # Logins live outside the tenant's reach (auth.users or Supabase Auth): a service
    # transaction scoped explicitly to the admin's company, as in the API.
    try:
        async with runtime.db.service_session() as session:
            await accounts_service.create_user(
                session,
                runtime.directory,
                company_id=user.identity.company_id,
                email=str(body.email),
                password=body.password,
                role=body.role,
                display_name=body.display_name,
                actor_id=user.identity.user_id,
            )
    except (Conflict, ValidationFailed) as refused:  # the address has a login already
        return await _users(
            request,
            runtime,
            user,
            error=translate(refused.message),
            values=values,
            status_code=refused.status_code,
        )
    return RedirectResponse("/panel/admin/users?ok=created", status_code=303)


@router.post("/admin/users/{user_id}")
async def update_user(
    user_id: uuid.UUID,
    runtime: RuntimeDep,
    user: ActingPanelUser,
    role: Annotated[str, Form(max_length=20)] = "",
    active: Annotated[str, Form(max_length=5)] = "",
) -> Response:
    """Change a colleague's role or (de)activate them; deactivation ends their sessions."""
    require_admin(user)
    new_role = Role(role) if role in ROLE_LABELS else None
    new_active = {"true": True, "false": False}.get(active)
    async with runtime.db.tenant_session(user.identity.claims) as session:
        await accounts_service.update_user(
            session,
            company_id=user.identity.company_id,
            user_id=user_id,
            actor_id=user.identity.user_id,
            role=new_role,
            active=new_active,
        )
    await runtime.auth.user_changed(user_id, deactivated=new_active is False)
    return RedirectResponse("/panel/admin/users?ok=updated", status_code=303)


# The phone regions the settings form offers; the service accepts any region.
REGION_CHOICES = {
    "BR": "Brasil", "PT": "Portugal", "AR": "Argentina", "UY": "Uruguai", "PY": "Paraguai",
    "CL": "Chile", "CO": "Colômbia", "PE": "Peru", "MX": "México", "US": "Estados Unidos",
    "ES": "Espanha",
}  # fmt: skip


@router.get("/admin/company")
async def company_page(request: Request, runtime: RuntimeDep, user: CurrentPanelUser) -> Response:
    """The company's name, time zone (dates everywhere) and default phone country."""
    require_admin(user)
    async with runtime.db.tenant_session(user.identity.claims) as session:
        settings = await accounts_service.company_settings(session, user.identity.company_id)
    context = user.page_context(
        request,
        "admin",
        section="company",
        company=settings,
        timezones=zone_choices(current_locale(), settings.timezone),
        regions=REGION_CHOICES,
        notice=request.query_params.get("ok"),
    )
    return render("admin/company.html", context)


@router.post("/admin/company")
async def save_company(
    runtime: RuntimeDep,
    user: ActingPanelUser,
    name: Annotated[str, Form(max_length=200)] = "",
    timezone: Annotated[str, Form(max_length=64)] = "",
    default_region: Annotated[str, Form(max_length=2)] = "",
    sign_messages: Annotated[str, Form(max_length=5)] = "",
) -> Response:
    """Save the settings; the panel shows dates in the new zone from the next page on."""
    require_admin(user)
    async with runtime.db.tenant_session(user.identity.claims) as session:
        await accounts_service.update_company_settings(
            session,
            company_id=user.identity.company_id,
            actor_id=user.identity.user_id,
            name=name,
            timezone=timezone,
            default_region=default_region,
            sign_messages=sign_messages == "on",
        )
    await runtime.redis.delete(company_config_key(user.identity.company_id))
    return RedirectResponse("/panel/admin/company?ok=saved", status_code=303)


# Invitations (issue 6) ----------------------------------------------------------------------

# Inviting sends e-mail from our server: a company may not turn the panel into a mail cannon.
INVITES_PER_HOUR = 30
_EMAIL = TypeAdapter(EmailStr)


@dataclass(frozen=True, slots=True)
class InviteShown:
    """The link of an invitation just issued, shown once to the admin, and how it went out."""

    email: str
    link: str
    mail: Literal["sent", "failed", "off"]


async def _issue(runtime: Runtime, user: PanelUser, issued: invites.IssuedInvite) -> InviteShown:
    """Send the invitation e-mail (after commit) and say what to show the admin."""
    invite = issued.invite
    link = f"{runtime.settings.panel_url}/invite/{issued.token}"
    if not mail.smtp_configured(runtime.settings):
        return InviteShown(invite.email, link, "off")
    async with runtime.db.tenant_session(user.identity.claims) as session:
        company = await accounts_service.company_settings(session, user.identity.company_id)
    message = mail.invite_message(
        runtime.settings,
        to=invite.email,
        name=invite.display_name,
        company=company.name,
        link=link,
        expires_at=invite.expires_at,
        timezone=company.timezone,
    )
    sent = await mail.send(runtime.settings, message)
    return InviteShown(invite.email, link, "sent" if sent else "failed")


async def _count_invite(runtime: Runtime, user: PanelUser) -> None:
    await hit(
        runtime.redis,
        f"invites:company:{user.identity.company_id}",
        limit=INVITES_PER_HOUR,
        window_seconds=3600,
        message=N_("muitos convites em pouco tempo; tente de novo mais tarde"),
    )


@router.post("/admin/invites")
async def invite_user(
    request: Request,
    runtime: RuntimeDep,
    user: ActingPanelUser,
    email: Annotated[str, Form(max_length=255)] = "",
    display_name: Annotated[str, Form(max_length=200)] = "",
    role: Annotated[str, Form(max_length=20)] = "operator",
) -> Response:
    """Invite a colleague by e-mail; the page shows the link to copy (it works without SMTP)."""
    require_admin(user)
    values = {"email": email, "display_name": display_name, "role": role}
    try:
        address = str(_EMAIL.validate_python(email.strip()))
        chosen = Role(role)
    except (ValidationError, ValueError):
        return await _users(
            request,
            runtime,
            user,
            invite_error=translate(N_("Confira o e-mail e o perfil.")),
            invite_values=values,
            status_code=422,
        )
    try:
        await _count_invite(runtime, user)
        async with runtime.db.service_session() as session:
            issued = await invites.invite_user(
                session,
                runtime.directory,
                user.identity,
                email=address,
                display_name=display_name,
                role=chosen,
                ttl=timedelta(hours=runtime.settings.invite_ttl_hours),
            )
    except (Conflict, RateLimited, ValidationFailed) as refused:
        return await _users(
            request,
            runtime,
            user,
            invite_error=translate(refused.message),
            invite_values=values,
            status_code=refused.status_code,
        )
    shown = await _issue(runtime, user, issued)
    return await _users(request, runtime, user, invite=shown, status_code=201)


@router.post("/admin/invites/{invite_id}/resend")
async def resend_invite(
    invite_id: uuid.UUID, request: Request, runtime: RuntimeDep, user: ActingPanelUser
) -> Response:
    """Issue a new link for a pending (or expired) invitation; the old link stops working."""
    require_admin(user)
    try:
        await _count_invite(runtime, user)
        async with runtime.db.service_session() as session:
            issued = await invites.resend_invite(
                session,
                user.identity,
                invite_id,
                ttl=timedelta(hours=runtime.settings.invite_ttl_hours),
            )
    except (Conflict, RateLimited) as refused:
        return await _users(
            request,
            runtime,
            user,
            invite_error=translate(refused.message),
            status_code=refused.status_code,
        )
    shown = await _issue(runtime, user, issued)
    return await _users(request, runtime, user, invite=shown)


@router.post("/admin/invites/{invite_id}/revoke")
async def revoke_invite(
    invite_id: uuid.UUID, request: Request, runtime: RuntimeDep, user: ActingPanelUser
) -> Response:
    """Cancel a pending invitation; its link stops working and the unused login goes."""
    require_admin(user)
    async with runtime.db.service_session() as session:
        login = await invites.revoke_invite(session, user.identity, invite_id)
    if login is not None:
        # After commit (see revoke_invite); if this fails the login just stays inactive.
        async with runtime.db.service_session() as session:
            await invites.remove_unused_login(
                session, runtime.directory, user.identity.company_id, login
            )
    # htmx (the button asks for confirmation through it) follows HX-Redirect; a plain form a 303.
    if request.headers.get("hx-request"):
        return Response(status_code=204, headers={"HX-Redirect": "/panel/admin/users?ok=revoked"})
    return RedirectResponse("/panel/admin/users?ok=revoked", status_code=303)
