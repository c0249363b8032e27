"""Distribution API: each user's "taking chats" switch, the team's view for supervisors, chats
given back to the queue, and the settings admins change."""

from __future__ import annotations

import uuid

from fastapi import APIRouter
from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession

from zapcrm.dependencies import Admin, CurrentUser, RuntimeDep, Supervisor, TenantSession
from zapcrm.distribution import service
from zapcrm.distribution.schemas import (
    AvailabilityIn,
    AvailabilityOut,
    DistributionOut,
    DistributionSettingsIn,
    DistributionSettingsOut,
)
from zapcrm.outbox import OutboxItem
from zapcrm.transactions import in_tenant_transaction

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


class ReleasedOut(BaseModel):
    """How many chats went back to the queue."""

    released: int


@router.post("/api/distribution/release/{user_id}")
async def release_conversations(
    user_id: uuid.UUID, identity: CurrentUser, runtime: RuntimeDep
) -> ReleasedOut:
    """Put someone's open and pending chats back in the queue (supervisors; anyone for their
    own, e.g. before leaving): with distribution on they go to whoever is available."""

    async def work(session: AsyncSession) -> tuple[ReleasedOut, list[OutboxItem]]:
        released, items = await service.release(session, identity, user_id)
        return ReleasedOut(released=released), items

    return await in_tenant_transaction(runtime, identity, work)


@router.put("/api/distribution/settings")
async def put_distribution_settings(
    body: DistributionSettingsIn, identity: Admin, session: TenantSession
) -> DistributionSettingsOut:
    """Turn distribution on or off and set the open chats an agent may hold (admins)."""
    return await service.save_settings(session, identity, body)
