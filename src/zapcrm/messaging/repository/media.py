"""SQL of the media download job: what it needs to fetch a file, and recording the outcome."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncSession


async def media_source(session: AsyncSession, message_id: uuid.UUID) -> Row[Any] | None:
    """Company, instance, key id, mimetype, media status and the webhook's base64 (`encoded`,
    when it came inline) of a message; None when it is gone."""
    result = await session.execute(
        text(
            "select company_id, instance_id, key_id, media_mimetype, media_status,"
            " raw_payload -> 'message' ->> 'base64' as encoded"
            " from evolution_messages where id = :id"
        ),
        {"id": message_id},
    )
    return result.first()


async def mark_media(
    session: AsyncSession, message_id: uuid.UUID, status: str, key: str | None
) -> Row[Any] | None:
    """Record the media status (and where the file is); the message's company and conversation,
    or None when it is gone."""
    result = await session.execute(
        text(
            "update evolution_messages set media_status = :status,"
            " media_path = coalesce(:key, media_path),"
            # The bytes now live in storage; keep the row small.
            " raw_payload = raw_payload #- '{message,base64}'"
            " where id = :id returning company_id, conversation_id"
        ),
        {"id": message_id, "status": status, "key": key},
    )
    return result.first()
