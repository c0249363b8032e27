"""The panel as a FastAPI sub-application mounted at `/panel`: pages, static files, HTML errors.

A sub-application keeps the panel's error pages (HTML, redirects to the login page) apart from
the API's JSON errors, and keeps panel routes out of the API's OpenAPI document.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.datastructures import MutableHeaders, State
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from zapcrm.exceptions import ZapcrmError
from zapcrm.logging import get_logger
from zapcrm.web.dependencies import LoginRequired
from zapcrm.web.i18n import N_, LocaleMiddleware, translate
from zapcrm.web.pages import (
    admin,
    auth,
    campaigns,
    compose,
    contacts,
    departments,
    distribution,
    events,
    fields,
    funnel,
    home,
    hours,
    imports,
    inbox,
    instances,
    invite,
    list_rules,
    media,
    reports,
    scheduled,
    search,
    survey,
    tasks,
)
from zapcrm.web.templating import error_toast, render

log = get_logger(__name__)

STATIC_DIR = Path(__file__).parent / "static"
# Static files are versioned by the package version in their URLs, so browsers may keep them.
STATIC_CACHE_SECONDS = 3600

_SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data: blob:; media-src 'self' blob:; "
        "style-src 'self'; script-src 'self'; connect-src 'self'; frame-ancestors 'none'; "
        "base-uri 'none'; form-action 'self'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
}


# Starlette words these in English for developers; the panel says them to people.
_HTTP_MESSAGES = {
    404: N_("Página não encontrada."),
    405: N_("Esta página não aceita este tipo de pedido."),
}


def _is_htmx(request: Request) -> bool:
    return request.headers.get("hx-request") == "true"


def _error_response(request: Request, status: int, message: str) -> Response:
    # Errors carry Portuguese text (a `Text` when marked); the reader gets their language.
    message = translate(message)
    if _is_htmx(request):
        return error_toast(message, status)
    return render("error.html", {"message": message, "status": status}, status_code=status)


async def _login_required(request: Request, error: Exception) -> Response:
    target = "/panel/login?next=" + quote(request.url.path, safe="/")
    if _is_htmx(request):
        return Response(status_code=401, headers={"HX-Redirect": target})
    if request.headers.get("accept", "").startswith("text/event-stream"):
        return Response(status_code=401)
    return RedirectResponse(target, status_code=303)


async def _zapcrm_error(request: Request, error: Exception) -> Response:
    assert isinstance(error, ZapcrmError)
    if error.status_code >= 500:
        log.warning("panel.request_failed", code=error.code)
    return _error_response(request, error.status_code, error.message)


async def _validation_error(request: Request, error: Exception) -> Response:
    assert isinstance(error, RequestValidationError)
    return _error_response(request, 422, N_("Dados inválidos: confira os campos e tente de novo."))


async def _http_error(request: Request, error: Exception) -> Response:
    assert isinstance(error, StarletteHTTPException)
    message = _HTTP_MESSAGES.get(error.status_code) or str(error.detail)
    return _error_response(request, error.status_code, message)


async def _unexpected(request: Request, error: Exception) -> Response:
    log.exception("panel.crashed", error_type=type(error).__name__)
    return _error_response(request, 500, N_("Algo deu errado do nosso lado. Tente novamente."))


class SecurityHeaders:
    """Add the panel's security and caching headers to every response (plain ASGI, so the
    live event stream is passed through untouched)."""

    def __init__(self, app: ASGIApp, state: State) -> None:
        self.app = app
        self.state = state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        static = scope["path"].startswith("/panel/static/")

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in _SECURITY_HEADERS.items():
                    if name not in headers:
                        headers[name] = value
                if static:
                    headers["Cache-Control"] = f"public, max-age={STATIC_CACHE_SECONDS}"
                else:
                    headers.setdefault("Cache-Control", "no-store")
            await send(message)

        await self.app(scope, receive, send_with_headers)


def create_panel() -> SecurityHeaders:
    """The panel application (its runtime is set by the main app's lifespan)."""
    panel = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)
    panel.add_exception_handler(LoginRequired, _login_required)
    panel.add_exception_handler(ZapcrmError, _zapcrm_error)
    panel.add_exception_handler(RequestValidationError, _validation_error)
    panel.add_exception_handler(StarletteHTTPException, _http_error)
    panel.add_exception_handler(Exception, _unexpected)
    panel.include_router(auth.router)
    panel.include_router(invite.router)
    panel.include_router(home.router)
    panel.include_router(compose.router)
    panel.include_router(inbox.router)
    panel.include_router(search.router)
    panel.include_router(scheduled.router)
    panel.include_router(events.router)
    panel.include_router(media.router)
    panel.include_router(admin.router)
    panel.include_router(fields.router)
    panel.include_router(hours.router)
    panel.include_router(distribution.router)
    panel.include_router(departments.router)
    panel.include_router(survey.router)
    panel.include_router(instances.router)
    panel.include_router(tasks.router)
    panel.include_router(reports.router)
    panel.include_router(campaigns.router)
    panel.include_router(imports.router)
    panel.include_router(list_rules.router)
    # Before contacts: /contacts/funnel is not a contact's id.
    panel.include_router(funnel.router)
    panel.include_router(contacts.router)
    panel.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")

    return SecurityHeaders(LocaleMiddleware(panel), panel.state)
