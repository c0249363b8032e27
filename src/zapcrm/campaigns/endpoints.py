"""Campaigns API (supervisors and admins): drafts, start, pause, resume, cancel, progress and
recipients. The worker's dispatcher (dispatch.py) does the sending at the campaign's pace.
"""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Response, status
from fastapi.responses import StreamingResponse

from zapcrm.campaigns import export, service
from zapcrm.campaigns.schemas import (
    CampaignIn,
    CampaignOut,
    CampaignUpdate,
    RecipientOut,
    RecipientStatus,
    StartIn,
)
from zapcrm.contacts.query.schemas import ContactQuery
from zapcrm.dependencies import RuntimeDep, Supervisor, TenantSession

router = APIRouter(tags=["campaigns"])


@router.get("/api/campaigns")
async def list_campaigns(identity: Supervisor, session: TenantSession) -> list[CampaignOut]:
    """The latest 200 campaigns, newest first, with their progress."""
    return await service.list_campaigns(session, identity)


@router.post("/api/campaigns", status_code=status.HTTP_201_CREATED)
async def create_campaign(
    body: CampaignIn, identity: Supervisor, session: TenantSession
) -> CampaignOut:
    """A draft: number, audience, texts and pace. Nothing is sent until it is started."""
    return await service.create_campaign(session, identity, body)


@router.post("/api/campaigns/audience/count")
async def count_audience(
    body: ContactQuery, identity: Supervisor, session: TenantSession
) -> dict[str, int]:
    """How many contacts an audience selects now."""
    return {"count": await service.count_audience(session, identity, body)}


@router.get("/api/campaigns/{campaign_id:uuid}")
async def get_campaign(
    campaign_id: uuid.UUID, identity: Supervisor, session: TenantSession
) -> CampaignOut:
    """One campaign with its progress."""
    return await service.get_campaign(session, identity, campaign_id)


@router.patch("/api/campaigns/{campaign_id:uuid}")
async def update_campaign(
    campaign_id: uuid.UUID, body: CampaignUpdate, identity: Supervisor, session: TenantSession
) -> CampaignOut:
    """Change the name or the pace (until it ends); number, audience and texts (draft only)."""
    return await service.update_campaign(session, identity, campaign_id, body)


@router.delete("/api/campaigns/{campaign_id:uuid}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_campaign(
    campaign_id: uuid.UUID, identity: Supervisor, session: TenantSession
) -> Response:
    """Remove a draft or an ended campaign (the messages it sent stay in their chats)."""
    await service.delete_campaign(session, identity, campaign_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/api/campaigns/{campaign_id:uuid}/duplicate", status_code=status.HTTP_201_CREATED)
async def duplicate_campaign(
    campaign_id: uuid.UUID, identity: Supervisor, session: TenantSession
) -> CampaignOut:
    """A new draft copying the campaign's number, audience, texts and pace."""
    return await service.duplicate_campaign(session, identity, campaign_id)


@router.post("/api/campaigns/{campaign_id:uuid}/start")
async def start_campaign(
    campaign_id: uuid.UUID,
    identity: Supervisor,
    session: TenantSession,
    body: StartIn | None = None,
) -> CampaignOut:
    """Fix the audience (the contacts it selects now) and start sending, now or at `at`."""
    return await service.start_campaign(
        session, identity, campaign_id, at=body.at if body else None
    )


@router.post("/api/campaigns/{campaign_id:uuid}/pause")
async def pause_campaign(
    campaign_id: uuid.UUID, identity: Supervisor, session: TenantSession
) -> CampaignOut:
    """Stop sending until resumed."""
    return await service.pause_campaign(session, identity, campaign_id)


@router.post("/api/campaigns/{campaign_id:uuid}/resume")
async def resume_campaign(
    campaign_id: uuid.UUID, identity: Supervisor, session: TenantSession
) -> CampaignOut:
    """Send again from where it stopped."""
    return await service.resume_campaign(session, identity, campaign_id)


@router.post("/api/campaigns/{campaign_id:uuid}/cancel")
async def cancel_campaign(
    campaign_id: uuid.UUID, identity: Supervisor, session: TenantSession
) -> CampaignOut:
    """End the campaign; people not reached yet get nothing."""
    return await service.cancel_campaign(session, identity, campaign_id)


@router.get(
    "/api/campaigns/{campaign_id:uuid}/recipients.csv",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/csv": {}}, "description": "arquivo CSV (;, UTF-8 com BOM)"}},
)
async def recipients_csv(
    campaign_id: uuid.UUID, identity: Supervisor, session: TenantSession, runtime: RuntimeDep
) -> StreamingResponse:
    """Every recipient with the text they got, its status, reason, time and reply, as CSV."""
    zone = await service.export_zone(session, identity, campaign_id)
    return export.csv_response(runtime.db, identity.claims, campaign_id, zone)


@router.get("/api/campaigns/{campaign_id:uuid}/recipients")
async def list_recipients(
    campaign_id: uuid.UUID,
    identity: Supervisor,
    session: TenantSession,
    recipient_status: Annotated[RecipientStatus | None, Query(alias="status")] = None,
    after: Annotated[int, Query(ge=0, description="posição do último já lido")] = 0,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[RecipientOut]:
    """The campaign's people in order, with what became of their message; `after` pages."""
    return await service.list_recipients(
        session, identity, campaign_id, status=recipient_status, after=after, limit=limit
    )
