"""Message attachments served to the panel (the safety rules live in messaging/downloads.py)."""

from __future__ import annotations

import uuid

from fastapi import APIRouter
from fastapi.responses import Response

from zapcrm.dependencies import RuntimeDep
from zapcrm.messaging.downloads import media_response
from zapcrm.web.dependencies import CurrentPanelUser

router = APIRouter()


@router.get("/media/{message_id}")
async def message_media(
    message_id: uuid.UUID, runtime: RuntimeDep, user: CurrentPanelUser
) -> Response:
    """The bytes of a message's attachment, if the caller may see the message."""
    return await media_response(runtime, user.identity.claims, message_id)
