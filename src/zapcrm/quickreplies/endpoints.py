"""Quick replies API: everyone lists and renders them; supervisors and admins curate them."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, status

from zapcrm.dependencies import CurrentUser, Supervisor, TenantSession
from zapcrm.quickreplies import service
from zapcrm.quickreplies.schemas import (
    QuickReplyIn,
    QuickReplyOut,
    QuickReplyPatch,
    RenderedQuickReply,
)

router = APIRouter(tags=["quick replies"])


@router.get("/api/quick-replies")
async def list_quick_replies(
    identity: CurrentUser,
    session: TenantSession,
    q: Annotated[str | None, Query(max_length=100, description="part of shortcut or title")] = None,
) -> list[QuickReplyOut]:
    """The company's quick replies by shortcut (`?q=fre` finds `/frete`)."""
    return await service.list_quick_replies(session, identity, q)


@router.get("/api/quick-replies/{quick_reply_id}")
async def get_quick_reply(
    quick_reply_id: uuid.UUID, identity: CurrentUser, session: TenantSession
) -> QuickReplyOut:
    """One quick reply."""
    return await service.get_quick_reply(session, identity, quick_reply_id)


@router.post("/api/quick-replies", status_code=status.HTTP_201_CREATED)
async def create_quick_reply(
    body: QuickReplyIn, identity: Supervisor, session: TenantSession
) -> QuickReplyOut:
    """Add a quick reply (409 when the shortcut exists in any letter case)."""
    return await service.create_quick_reply(session, identity, body)


@router.patch("/api/quick-replies/{quick_reply_id}")
async def update_quick_reply(
    quick_reply_id: uuid.UUID, body: QuickReplyPatch, identity: Supervisor, session: TenantSession
) -> QuickReplyOut:
    """Change shortcut, title or text."""
    return await service.update_quick_reply(session, identity, quick_reply_id, body)


@router.delete("/api/quick-replies/{quick_reply_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_quick_reply(
    quick_reply_id: uuid.UUID, identity: Supervisor, session: TenantSession
) -> None:
    """Remove a quick reply."""
    await service.delete_quick_reply(session, identity, quick_reply_id)


@router.post("/api/conversations/{conversation_id}/quick-replies/{quick_reply_id}/render")
async def render_quick_reply(
    conversation_id: uuid.UUID,
    quick_reply_id: uuid.UUID,
    identity: CurrentUser,
    session: TenantSession,
) -> RenderedQuickReply:
    """The quick reply's text filled for this conversation's contact and the caller."""
    text = await service.render_for_conversation(session, identity, conversation_id, quick_reply_id)
    return RenderedQuickReply(
        quick_reply_id=quick_reply_id, conversation_id=conversation_id, text=text
    )
