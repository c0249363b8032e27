"""Typed FastAPI dependencies: the runtime, the caller's identity by role, tenant sessions."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.ext.asyncio import AsyncSession

from zapcrm.auth.identity import Identity
from zapcrm.exceptions import Forbidden, Unauthorized
from zapcrm.i18n import N_
from zapcrm.models import Role
from zapcrm.runtime import Runtime

_bearer = HTTPBearer(auto_error=False, description="Supabase-style access token")


# Dependencies that do not await anything are still `async def`: FastAPI runs a plain `def`
# dependency in the thread pool, a thread hop per request that the webhook path measured at
# a few percent of its CPU.
async def get_runtime(request: Request) -> Runtime:
    """The process runtime created by the app's lifespan."""
    runtime: Runtime = request.app.state.runtime
    return runtime


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


async def bearer_token(
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> str:
    """The raw bearer token of the request."""
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise Unauthorized(N_("envie o token de acesso no cabeçalho Authorization: Bearer"))
    return credentials.credentials


BearerToken = Annotated[str, Depends(bearer_token)]


async def current_identity(request: Request, runtime: RuntimeDep, token: BearerToken) -> Identity:
    """The verified caller; bound to the request for logs."""
    identity = await runtime.auth.identify(token)
    request.state.identity = identity
    return identity


CurrentUser = Annotated[Identity, Depends(current_identity)]


def _require(minimum: Role) -> object:
    async def dependency(identity: CurrentUser) -> Identity:
        if not identity.has_role(minimum):
            raise Forbidden(N_("seu perfil não permite esta ação"))
        return identity

    return dependency


Supervisor = Annotated[Identity, Depends(_require(Role.SUPERVISOR))]
Admin = Annotated[Identity, Depends(_require(Role.ADMIN))]


async def tenant_session(runtime: RuntimeDep, identity: CurrentUser) -> AsyncIterator[AsyncSession]:
    """A transaction under RLS as the caller; committed when the endpoint returns normally."""
    async with runtime.db.tenant_session(identity.claims) as session:
        yield session


# scope="function": the commit happens when the endpoint returns, before the response is sent,
# so a failed commit becomes an error response instead of a silently lost write.
TenantSession = Annotated[AsyncSession, Depends(tenant_session, scope="function")]
