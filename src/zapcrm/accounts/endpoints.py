"""User administration API (admins only; RLS enforces the same rule in Postgres)."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, status

from zapcrm.accounts import service
from zapcrm.accounts.schemas import UserAdminOut, UserCreate, UserUpdate
from zapcrm.dependencies import Admin, RuntimeDep, TenantSession

router = APIRouter(prefix="/api/admin/users", tags=["admin: users"])


@router.get("")
async def list_users(admin: Admin, session: TenantSession) -> list[UserAdminOut]:
    """Every user of the admin's company."""
    profiles = await service.list_users(session, admin.company_id)
    return [UserAdminOut.of(profile) for profile in profiles]


@router.post("", status_code=status.HTTP_201_CREATED)
async def create_user(admin: Admin, body: UserCreate, runtime: RuntimeDep) -> UserAdminOut:
    """Create a user in the admin's company."""
    # Logins are outside the tenant's reach (auth.users or Supabase Auth), so this runs as a
    # service transaction scoped explicitly to the admin's company.
    async with runtime.db.service_session() as session:
        profile = await service.create_user(
            session,
            runtime.directory,
            company_id=admin.company_id,
            email=str(body.email),
            password=body.password,
            role=body.role,
            display_name=body.display_name,
            actor_id=admin.user_id,
        )
    return UserAdminOut.of(profile)


@router.patch("/{user_id}")
async def update_user(
    user_id: uuid.UUID, body: UserUpdate, admin: Admin, runtime: RuntimeDep
) -> UserAdminOut:
    """Change role, name or active flag; deactivation ends the user's sessions."""
    async with runtime.db.tenant_session(admin.claims) as session:
        profile = await service.update_user(
            session,
            company_id=admin.company_id,
            user_id=user_id,
            actor_id=admin.user_id,
            role=body.role,
            display_name=body.display_name,
            active=body.active,
        )
    await runtime.auth.user_changed(user_id, deactivated=body.active is False)
    return UserAdminOut.of(profile)


@router.post("/{user_id}/deactivate")
async def deactivate_user(user_id: uuid.UUID, admin: Admin, runtime: RuntimeDep) -> UserAdminOut:
    """Deactivate a user and end their sessions."""
    async with runtime.db.tenant_session(admin.claims) as session:
        profile = await service.update_user(
            session,
            company_id=admin.company_id,
            user_id=user_id,
            actor_id=admin.user_id,
            active=False,
        )
    await runtime.auth.user_changed(user_id, deactivated=True)
    return UserAdminOut.of(profile)
