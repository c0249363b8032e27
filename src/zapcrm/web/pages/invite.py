"""The invitee's page: open the link, choose a password, and come in signed in.

Anonymous like the login form, and protected the same way: a double-submit CSRF token in a
short-lived cookie scoped to the invitation's path, the same-origin check, and a per-address
limit on attempts. The page is never cached and its Referers never carry its URL (the token).
"""

from __future__ import annotations

import hmac
import secrets
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from zapcrm.accounts import invites
from zapcrm.auth.passwords import MAX_PASSWORD_BYTES, MIN_PASSWORD_LENGTH
from zapcrm.dependencies import RuntimeDep
from zapcrm.exceptions import RateLimited, ServiceUnavailable, Unauthorized
from zapcrm.kit.ratelimit import hit
from zapcrm.logging import get_logger
from zapcrm.runtime import Runtime
from zapcrm.web.dependencies import SESSION_COOKIE, same_origin, session_store
from zapcrm.web.i18n import N_, translate
from zapcrm.web.pages.auth import HOME, set_panel_cookie
from zapcrm.web.templating import render

log = get_logger(__name__)
router = APIRouter()

INVITE_CSRF_COOKIE = "zapcrm_invite_csrf"
# Password submissions per client address. Tokens are 256-bit random, so this is about load
# (each accepted form runs bcrypt) and noise, not guessing.
ATTEMPTS_PER_ADDRESS = 20
ATTEMPT_WINDOW_SECONDS = 900


def _path(token: str) -> str:
    return f"/panel/invite/{token}"


def _page(
    request: Request,
    token: str,
    *,
    invite: object | None = None,
    state: str | None = None,
    error: str | None = None,
    status: int = 200,
) -> Response:
    """The form (for a usable invitation) or the reason it cannot be used."""
    csrf = secrets.token_urlsafe(32)
    response = render(
        "invite.html",
        {
            "invite": invite,
            "state": state,
            "error": error,
            "csrf_token": csrf,
            "token": token,
            "min_length": MIN_PASSWORD_LENGTH,
            "max_bytes": MAX_PASSWORD_BYTES,
        },
        status_code=status,
    )
    # Referers carry the origin only, never this URL (its token). Not `no-referrer`: with it
    # browsers send `Origin: null` on the form's POST, which same_origin rightly refuses.
    response.headers["Referrer-Policy"] = "strict-origin"
    if invite is not None:
        set_panel_cookie(
            response, request, INVITE_CSRF_COOKIE, csrf, max_age=3600, path=_path(token)
        )
    return response


def _unusable(request: Request, token: str, refused: invites.InviteUnusable) -> Response:
    state = refused.state.value if refused.state else "unknown"
    return _page(request, token, state=state, status=404 if refused.state is None else 410)


async def _count_attempt(runtime: Runtime, request: Request) -> None:
    address = request.client.host if request.client else "unknown"
    await hit(
        runtime.redis,
        f"invites:accept:{address}",
        limit=ATTEMPTS_PER_ADDRESS,
        window_seconds=ATTEMPT_WINDOW_SECONDS,
        message=N_("muitas tentativas; tente de novo mais tarde"),
    )


@router.get("/invite/{token}")
async def invite_form(token: str, request: Request, runtime: RuntimeDep) -> Response:
    """Who is invited, and the password form; or why the link no longer works."""
    try:
        async with runtime.db.service_session() as session:
            invite = await invites.invite_by_token(session, token)
    except invites.InviteUnusable as refused:
        return _unusable(request, token, refused)
    return _page(request, token, invite=invite)


@router.post("/invite/{token}")
async def accept(
    token: str,
    request: Request,
    runtime: RuntimeDep,
    password: Annotated[str, Form(max_length=200)] = "",
    confirm: Annotated[str, Form(max_length=200)] = "",
    csrf_token: Annotated[str, Form(max_length=100)] = "",
) -> Response:
    """Set the password, activate the login and open a panel session."""
    expected = request.cookies.get(INVITE_CSRF_COOKIE, "")
    if (
        not expected
        or not hmac.compare_digest(csrf_token.encode(), expected.encode())
        or not same_origin(request)
    ):
        log.warning("panel.invite_csrf_rejected")
        expired = translate(N_("O formulário expirou. Tente de novo."))
        return await _retry(request, runtime, token, expired, 403)
    try:
        await _count_attempt(runtime, request)
    except RateLimited:
        return _page(request, token, state="limited", status=429)
    length = len(password.encode())
    if len(password) < MIN_PASSWORD_LENGTH or length > MAX_PASSWORD_BYTES:
        message = translate(
            N_(
                "A senha precisa de {minimum} a {maximum} caracteres.",
                minimum=MIN_PASSWORD_LENGTH,
                maximum=MAX_PASSWORD_BYTES,
            )
        )
        return await _retry(request, runtime, token, message, 422)
    if not hmac.compare_digest(password.encode(), confirm.encode()):
        different = translate(N_("As senhas não são iguais."))
        return await _retry(request, runtime, token, different, 422)
    try:
        async with runtime.db.service_session() as session:
            invite = await invites.accept_invite(session, runtime.directory, token, password)
    except invites.InviteUnusable as refused:
        return _unusable(request, token, refused)
    log.info("panel.invite_accepted", invite_id=str(invite.id))
    address = request.client.host if request.client else "unknown"
    try:
        tokens = await runtime.auth.login(invite.email, password, address)
    except (Unauthorized, RateLimited, ServiceUnavailable):
        # The password is set all the same: the login page takes it from here.
        return RedirectResponse("/panel/login", status_code=303)
    session_record = await session_store(runtime).create(tokens)
    response = RedirectResponse(HOME, status_code=303)
    set_panel_cookie(
        response,
        request,
        SESSION_COOKIE,
        session_record.session_id,
        max_age=runtime.settings.refresh_token_ttl_seconds,
        path="/panel",
    )
    response.delete_cookie(INVITE_CSRF_COOKIE, path=_path(token))
    return response


async def _retry(
    request: Request, runtime: Runtime, token: str, error: str, status: int
) -> Response:
    """The form again with what went wrong (or why the link no longer works)."""
    try:
        async with runtime.db.service_session() as session:
            invite = await invites.invite_by_token(session, token)
    except invites.InviteUnusable as refused:
        return _unusable(request, token, refused)
    return _page(request, token, invite=invite, error=error, status=status)
