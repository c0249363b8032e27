"""Panel request dependencies: the signed-in user behind the session cookie, CSRF checks, and the
inbox filter a page or its live stream is for."""

from __future__ import annotations

import hmac
import time
import uuid
from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import urlsplit

from fastapi import Depends, Query, Request

from zapcrm.accounts import service as accounts_service
from zapcrm.auth.identity import Identity
from zapcrm.dependencies import RuntimeDep
from zapcrm.exceptions import NotFound, Unauthorized, ZapcrmError
from zapcrm.i18n import N_
from zapcrm.logging import get_logger
from zapcrm.models import Role
from zapcrm.runtime import Runtime
from zapcrm.web.sessions import PanelSession, SessionStore
from zapcrm.web.templating import company_zone, use_company_zone
from zapcrm.web.views import InboxFilter

log = get_logger(__name__)

SESSION_COOKIE = "zapcrm_session"
CSRF_HEADER = "x-csrf-token"
CSRF_FIELD = "csrf_token"
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class LoginRequired(ZapcrmError):
    """No usable session: the panel sends the browser to the login page."""

    status_code = 401
    code = "login_required"


class CsrfRejected(ZapcrmError):
    """A state-changing request without the session's CSRF token."""

    status_code = 403
    code = "csrf_rejected"


COMPANY_CONFIG_TTL_SECONDS = 300


def company_config_key(company_id: uuid.UUID) -> str:
    """The Redis key caching a company's panel settings (DESIGN.md: `config:company:<id>`)."""
    return f"config:company:{company_id}"


async def company_timezone(runtime: Runtime, identity: Identity) -> str:
    """The company's time zone, from Redis when warm (a settings change drops the key)."""
    key = company_config_key(identity.company_id)
    cached = await runtime.redis.hget(key, "timezone")
    if cached:
        return str(cached)
    async with runtime.db.tenant_session(identity.claims) as session:
        settings = await accounts_service.company_settings(session, identity.company_id)
    async with runtime.redis.pipeline(transaction=True) as pipe:
        pipe.hset(key, "timezone", settings.timezone)
        pipe.expire(key, COMPANY_CONFIG_TTL_SECONDS)
        await pipe.execute()
    return settings.timezone


def session_store(runtime: Runtime) -> SessionStore:
    """The panel's session store on the runtime's Redis."""
    return SessionStore(runtime.redis, runtime.settings.refresh_token_ttl_seconds)


@dataclass(frozen=True)
class PanelUser:
    """The signed-in user of a panel request and their browser session."""

    identity: Identity
    session: PanelSession

    @property
    def is_supervisor(self) -> bool:
        """Supervisors and admins see the whole company."""
        return self.identity.has_role(Role.SUPERVISOR)

    @property
    def is_admin(self) -> bool:
        """Admins manage instances, users and settings."""
        return self.identity.role is Role.ADMIN

    def page_context(self, request: Request, nav: str, **extra: Any) -> dict[str, Any]:
        """What every full page's layout needs: the user, their roles, the CSRF token."""
        return {
            "request": request,
            "user": self.identity,
            "is_supervisor": self.is_supervisor,
            "is_admin": self.is_admin,
            "csrf_token": self.session.csrf_token,
            "nav": nav,
            "tz": company_zone(),
            **extra,
        }


async def _fresh(runtime: Runtime, store: SessionStore, session: PanelSession) -> PanelSession:
    """The session with an access token that will not lapse during this request."""
    if not session.needs_refresh(time.time()):
        return session
    if not await store.try_lock_refresh(session.session_id):
        # Another tab of the same browser is refreshing: presenting the same refresh token
        # twice would look like theft and end the session, so wait for its result instead.
        renewed = await store.wait_for_refresh(session)
        if renewed is None:
            raise LoginRequired(N_("sessão expirada"))
        return renewed
    try:
        # Re-read under the lock: a request that loaded the session before another one
        # refreshed it still holds the used-up refresh token.
        current = await store.load(session.session_id)
        if current is None:
            raise LoginRequired(N_("sessão encerrada"))
        if not current.needs_refresh(time.time()):
            return current
        tokens = await runtime.auth.refresh(current.refresh_token)
    except Unauthorized:
        await store.delete(session.session_id)
        raise LoginRequired(N_("sessão expirada")) from None
    finally:
        await store.release_refresh(session.session_id)
    return await store.replace_tokens(current, tokens)


async def panel_user(request: Request, runtime: RuntimeDep) -> PanelUser:
    """The user behind the session cookie; LoginRequired when there is none or it ended."""
    store = session_store(runtime)
    session = await store.load(request.cookies.get(SESSION_COOKIE, ""))
    if session is None:
        raise LoginRequired(N_("entre para continuar"))
    session = await _fresh(runtime, store, session)
    try:
        identity = await runtime.auth.identify(session.access_token)
    except Unauthorized:
        await store.delete(session.session_id)
        raise LoginRequired(N_("sessão encerrada")) from None
    request.state.identity = identity
    use_company_zone(await company_timezone(runtime, identity))
    return PanelUser(identity=identity, session=session)


CurrentPanelUser = Annotated[PanelUser, Depends(panel_user)]


def same_origin(request: Request) -> bool:
    """Whether the request's Origin (or Referer) is this site; absent headers pass."""
    origin = request.headers.get("origin") or request.headers.get("referer")
    if not origin or origin == "null":
        return origin is None
    parts = urlsplit(origin)
    return parts.netloc == request.headers.get("host", request.url.netloc)


async def submitted_csrf_token(request: Request) -> str:
    """The token from the htmx header, or from the form body of a plain form post."""
    header = request.headers.get(CSRF_HEADER)
    if header:
        return header
    content_type = request.headers.get("content-type", "")
    if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
        form = await request.form()
        value = form.get(CSRF_FIELD)
        return value if isinstance(value, str) else ""
    return ""


async def checked_panel_user(request: Request, user: CurrentPanelUser) -> PanelUser:
    """The signed-in user of a state-changing request whose CSRF token matches the session."""
    if request.method not in _SAFE_METHODS:
        token = await submitted_csrf_token(request)
        valid = hmac.compare_digest(token.encode(), user.session.csrf_token.encode())
        if not valid or not same_origin(request):
            log.warning("panel.csrf_rejected", path=request.url.path)
            raise CsrfRejected(N_("formulário expirado ou de outra origem; recarregue a página"))
    return user


ActingPanelUser = Annotated[PanelUser, Depends(checked_panel_user)]


def inbox_filter(
    user: CurrentPanelUser,
    tab: Annotated[str | None, Query(max_length=20)] = None,
    status: Annotated[str | None, Query(max_length=20)] = None,
    q: Annotated[str | None, Query(max_length=100)] = None,
    instance: Annotated[str | None, Query(max_length=40)] = None,
    department: Annotated[str | None, Query(max_length=40)] = None,
) -> InboxFilter:
    """The inbox tab, status, search, number and department in the query string (unknown
    values fall back to the defaults; only supervisors and admins get the "all" tab)."""
    return InboxFilter.parse(
        tab, status, q, may_see_all=user.is_supervisor, instance=instance, department=department
    )


InboxFilterDep = Annotated[InboxFilter, Depends(inbox_filter)]


def require_supervisor(user: PanelUser) -> None:
    """Pages for supervisors answer 404 to operators (the page's existence is not a secret,
    but the rule is the same everywhere: what you may not see does not exist)."""
    if not user.is_supervisor:
        raise NotFound(N_("página não encontrada"))


def require_admin(user: PanelUser) -> None:
    """Admin pages answer 404 to everyone else."""
    if not user.is_admin:
        raise NotFound(N_("página não encontrada"))
