"""Distribution API: each user's "taking chats" switch, the team's view for supervisors, and
the settings admins change."""

from __future__ import annotations

from fastapi import APIRouter

from zapcrm.dependencies import Admin, CurrentUser, RuntimeDep, Supervisor, TenantSession
from zapcrm.distribution import service
from zapcrm.distribution.schemas import (
    AvailabilityIn,
    AvailabilityOut,
    DistributionOut,
    DistributionSettingsIn,
    DistributionSettingsOut,
)

router = APIRouter(tags=["distribution"])


@router.get("/api/me/availability")
async def get_availability(identity: CurrentUser, session: TenantSession) -> AvailabilityOut:
    """Whether the caller takes chats from the distributor, and whether it is on."""
    return await service.availability(session, identity)


@router.put("/api/me/availability")
async def put_availability(
    body: AvailabilityIn, identity: CurrentUser, session: TenantSession
) -> AvailabilityOut:
    """Start or stop taking chats (chats also go only to those with the panel open)."""
    return await service.set_availability(session, identity, body.accepting)


@router.get("/api/distribution")
async def get_distribution(
    identity: Supervisor, session: TenantSession, runtime: RuntimeDep
) -> DistributionOut:
    """Settings, chats waiting for someone, and who is taking chats, online, with how many."""
    return await service.overview(session, runtime.redis, identity)


@router.put("/api/distribution/settings")
async def put_distribution_settings(
    body: DistributionSettingsIn, identity: Admin, session: TenantSession
) -> DistributionSettingsOut:
    """Turn distribution on or off and set the open chats an agent may hold (admins)."""
    return await service.save_settings(session, identity, body)
