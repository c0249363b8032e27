"""Login and logout pages: a password form that opens a cookie session, and its end.

The login form is protected against login CSRF by a double-submit token: a random value in a
short-lived cookie that the form must repeat (the attacker's page can neither read nor set it).
"""

from __future__ import annotations

import hmac
import secrets
from typing import Annotated
from urllib.parse import urlsplit

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import EmailStr, TypeAdapter, ValidationError

from zapcrm.auth.service import AccountDisabled
from zapcrm.dependencies import RuntimeDep
from zapcrm.distribution import presence
from zapcrm.exceptions import InvalidCredentials, RateLimited, ServiceUnavailable
from zapcrm.logging import get_logger
from zapcrm.web.dependencies import (
    SESSION_COOKIE,
    ActingPanelUser,
    same_origin,
    session_store,
)
from zapcrm.web.i18n import DEFAULT_LOCALE, LANG_COOKIE, LANGUAGES, N_, translate
from zapcrm.web.templating import render

log = get_logger(__name__)
router = APIRouter()

LOGIN_CSRF_COOKIE = "zapcrm_login_csrf"
HOME = "/panel/"
_EMAIL = TypeAdapter(EmailStr)


def safe_next(value: str | None) -> str:
    """Where to go after login: only a path inside the panel (no open redirect)."""
    if value and value.startswith("/panel/") and not value.startswith("/panel//"):
        return value
    return HOME


def secure_cookies(request: Request) -> bool:
    """Cookies carry `Secure` whenever the panel is served over HTTPS."""
    return request.url.scheme == "https"


def set_panel_cookie(
    response: Response, request: Request, name: str, value: str, *, max_age: int, path: str
) -> None:
    """Every panel cookie: HttpOnly, SameSite=Lax, Secure over HTTPS."""
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        httponly=True,
        samesite="lax",
        secure=secure_cookies(request),
        path=path,
    )


def _login_page(
    request: Request, *, next_url: str, email: str = "", error: str | None = None, status: int
) -> Response:
    token = secrets.token_urlsafe(32)
    response = render(
        "login.html",
        {
            "csrf_token": token,
            "next": next_url,
            "email": email,
            "error": translate(error) if error else None,
        },
        status_code=status,
    )
    set_panel_cookie(response, request, LOGIN_CSRF_COOKIE, token, max_age=3600, path="/panel/login")
    return response


@router.get("/login")
async def login_form(request: Request, next: str | None = None) -> Response:
    """The sign-in form."""
    return _login_page(request, next_url=safe_next(next), status=200)


@router.post("/login")
async def login(
    request: Request,
    runtime: RuntimeDep,
    email: Annotated[str, Form(max_length=255)] = "",
    password: Annotated[str, Form(max_length=200)] = "",
    csrf_token: Annotated[str, Form(max_length=100)] = "",
    next: Annotated[str, Form(max_length=500)] = HOME,
) -> Response:
    """Check the password; on success open a session and go to the page asked for."""
    next_url = safe_next(next)
    expected = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    if (
        not expected
        or not hmac.compare_digest(csrf_token.encode(), expected.encode())
        or not same_origin(request)
    ):
        log.warning("panel.login_csrf_rejected")
        return _login_page(
            request,
            next_url=next_url,
            email=email,
            error=N_("O formulário expirou. Tente entrar novamente."),
            status=403,
        )
    try:
        address = str(_EMAIL.validate_python(email.strip())).lower()
    except ValidationError:
        return _login_page(
            request,
            next_url=next_url,
            email=email,
            error=N_("Informe um e-mail válido."),
            status=422,
        )
    client_ip = request.client.host if request.client else "unknown"
    try:
        tokens = await runtime.auth.login(address, password, client_ip)
    except InvalidCredentials:
        error, status = N_("E-mail ou senha incorretos."), 401
    except AccountDisabled:
        error, status = N_("Esta conta está desativada. Fale com o administrador."), 401
    except RateLimited as limited:
        minutes = max(1, -(-limited.retry_after // 60))
        error = N_("Muitas tentativas. Tente novamente em {minutes} min.", minutes=minutes)
        status = 429
    except ServiceUnavailable:
        error, status = N_("O login está indisponível no momento. Tente em instantes."), 503
    else:
        session = await session_store(runtime).create(tokens)
        response = RedirectResponse(next_url, status_code=303)
        set_panel_cookie(
            response,
            request,
            SESSION_COOKIE,
            session.session_id,
            max_age=runtime.settings.refresh_token_ttl_seconds,
            path="/panel",
        )
        response.delete_cookie(LOGIN_CSRF_COOKIE, path="/panel/login")
        return response
    return _login_page(request, next_url=next_url, email=email, error=error, status=status)


@router.get("/lang/{locale}")
async def choose_language(locale: str, request: Request) -> Response:
    """Switch the panel's language (remembered for a year) and go back where the user was."""
    if locale not in LANGUAGES:
        locale = DEFAULT_LOCALE
    referer = urlsplit(request.headers.get("referer", ""))
    back = referer.path + (f"?{referer.query}" if referer.query else "")
    target = back if same_origin(request) and back.startswith("/panel/") else HOME
    response = RedirectResponse(safe_next(target) if target != HOME else HOME, status_code=303)
    set_panel_cookie(response, request, LANG_COOKIE, locale, max_age=365 * 86400, path="/panel")
    return response


@router.post("/logout")
async def logout(request: Request, runtime: RuntimeDep, user: ActingPanelUser) -> Response:
    """End the session here and at the auth provider."""
    await runtime.auth.logout(user.identity, user.session.access_token)
    await session_store(runtime).delete(user.session.session_id)
    # Signed out: no more chats from the distributor (another open panel marks them again).
    await presence.mark_absent(runtime.redis, user.identity.company_id, user.identity.user_id)
    response: Response
    if request.headers.get("hx-request"):
        response = Response(status_code=204, headers={"HX-Redirect": "/panel/login"})
    else:
        response = RedirectResponse("/panel/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/panel")
    return response
