"""Scheduled messages API: schedule a text in a chat for later, list a chat's, cancel one.
Whoever may write in the chat may do all three (RLS as for sending)."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, status

from zapcrm.dependencies import CurrentUser, TenantSession
from zapcrm.scheduling import service
from zapcrm.scheduling.schemas import ScheduledIn, ScheduledOut

router = APIRouter(tags=["scheduled messages"])


@router.post("/api/conversations/{conversation_id}/scheduled", status_code=status.HTTP_201_CREATED)
async def schedule_message(
    conversation_id: uuid.UUID, body: ScheduledIn, identity: CurrentUser, session: TenantSession
) -> ScheduledOut:
    """Schedule a text (1 minute to a year ahead); at its moment it is sent as you, like a
    message typed then."""
    return await service.schedule(session, identity, conversation_id, body)


@router.get("/api/conversations/{conversation_id}/scheduled")
async def list_scheduled(
    conversation_id: uuid.UUID, identity: CurrentUser, session: TenantSession
) -> list[ScheduledOut]:
    """The chat's scheduled messages: those still to go (soonest first), then the rest."""
    return await service.list_for_conversation(session, conversation_id)


@router.post("/api/scheduled/{scheduled_id}/cancel")
async def cancel_scheduled(
    scheduled_id: uuid.UUID, identity: CurrentUser, session: TenantSession
) -> ScheduledOut:
    """Cancel one that has not gone yet (409 once sent or canceled)."""
    return await service.cancel(session, scheduled_id)
