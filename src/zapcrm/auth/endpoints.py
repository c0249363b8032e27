"""Auth API: login, refresh, logout and the caller's own profile."""

from __future__ import annotations

from fastapi import APIRouter, Request, status

from zapcrm.auth.schemas import LoginRequest, RefreshRequest, SessionOut, UserOut
from zapcrm.dependencies import BearerToken, CurrentUser, RuntimeDep

router = APIRouter(tags=["auth"])


def _client_ip(request: Request) -> str:
    return request.client.host if request.client else "unknown"


@router.post("/api/auth/login")
async def login(body: LoginRequest, request: Request, runtime: RuntimeDep) -> SessionOut:
    """Exchange e-mail and password for an access token and a refresh token."""
    return await runtime.auth.login(str(body.email).lower(), body.password, _client_ip(request))


@router.post("/api/auth/refresh")
async def refresh(body: RefreshRequest, runtime: RuntimeDep) -> SessionOut:
    """Exchange a refresh token for new tokens; each refresh token works once."""
    return await runtime.auth.refresh(body.refresh_token)


@router.post("/api/auth/logout", status_code=status.HTTP_204_NO_CONTENT)
async def logout(identity: CurrentUser, token: BearerToken, runtime: RuntimeDep) -> None:
    """End this session: its refresh token and access tokens stop working."""
    await runtime.auth.logout(identity, token)


@router.get("/api/me")
async def me(identity: CurrentUser) -> UserOut:
    """The signed-in user, their company and role."""
    return UserOut(
        id=identity.user_id,
        email=identity.email,
        display_name=identity.display_name,
        company_id=identity.company_id,
        role=identity.role.value,
    )
