"""SQL of scheduled messages: a chat's list, the worker's due batch, and state changes."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from zapcrm.models import ScheduledMessage

LIST_LIMIT = 200


async def add(session: AsyncSession, values: dict[str, Any]) -> ScheduledMessage:
    """Insert one (RLS: in a chat the caller sees, as the caller)."""
    statement = insert(ScheduledMessage).values(**values).returning(ScheduledMessage)
    return (await session.scalars(statement)).one()


async def for_conversation(
    session: AsyncSession, conversation_id: uuid.UUID
) -> list[ScheduledMessage]:
    """The chat's scheduled messages, the next to go first, then the rest newest first."""
    statement = (
        select(ScheduledMessage)
        .where(ScheduledMessage.conversation_id == conversation_id)
        .order_by(
            (ScheduledMessage.status != "scheduled"),
            ScheduledMessage.send_at.asc(),
        )
        .limit(LIST_LIMIT)
    )
    return list((await session.scalars(statement)).all())


async def cancel(session: AsyncSession, scheduled_id: uuid.UUID) -> ScheduledMessage | None:
    """Cancel it if it has not gone yet; None when it is not there, not visible or not
    `scheduled` any more (the worker may have just taken it)."""
    statement = (
        update(ScheduledMessage)
        .where(ScheduledMessage.id == scheduled_id, ScheduledMessage.status == "scheduled")
        .values(status="canceled")
        .returning(ScheduledMessage)
    )
    return (await session.scalars(statement)).first()


async def get(session: AsyncSession, scheduled_id: uuid.UUID) -> ScheduledMessage | None:
    """One, as the caller may see it."""
    return await session.get(ScheduledMessage, scheduled_id)


async def due(session: AsyncSession, now: datetime, limit: int) -> list[ScheduledMessage]:
    """The oldest due ones, locked; one being handled by another worker is skipped."""
    statement = (
        select(ScheduledMessage)
        .where(ScheduledMessage.status == "scheduled", ScheduledMessage.send_at <= now)
        .order_by(ScheduledMessage.send_at)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return list((await session.scalars(statement)).all())


async def settle(
    session: AsyncSession,
    scheduled_id: uuid.UUID,
    *,
    status: str,
    message_id: uuid.UUID | None = None,
    error: str | None = None,
) -> None:
    """Record what became of it."""
    await session.execute(
        update(ScheduledMessage)
        .where(ScheduledMessage.id == scheduled_id)
        .values(status=status, message_id=message_id, error=error)
    )
