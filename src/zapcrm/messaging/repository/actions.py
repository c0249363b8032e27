"""SQL of conversation actions: assign, close, reopen, snooze, with their service-cycle
bookkeeping."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession


async def profile_in_company(
    session: AsyncSession, company_id: uuid.UUID, user_id: uuid.UUID
) -> bool:
    """Whether the user is an active member of the company."""
    result = await session.execute(
        text("select 1 from profiles where id = :id and company_id = :company_id and active"),
        {"id": user_id, "company_id": company_id},
    )
    return result.first() is not None


async def assign(
    session: AsyncSession, conversation_id: uuid.UUID, assignee_id: uuid.UUID | None
) -> bool:
    """Set the assignee as the caller (tenant session); False when they cannot see the chat.

    Through app.assign_conversation (migration 0008): a plain UPDATE that hands the chat to a
    colleague is refused by RLS, whose SELECT policy applies to the updated row too.
    """
    result = await session.execute(
        text("select app.assign_conversation(:id, :assignee)"),
        {"id": conversation_id, "assignee": assignee_id},
    )
    return bool(result.scalar_one())


async def set_status(
    session: AsyncSession,
    conversation_id: uuid.UUID,
    status: str,
    at: datetime,
    actor_id: uuid.UUID,
    snoozed_until: datetime | None = None,
) -> bool:
    """Close, reopen or set pending (snoozed until a moment, or not); closing ends the open
    service cycle. False if not visible."""
    result = await session.execute(
        text(
            "update evolution_conversations set status = :status,"
            " closed_at = case when :status = 'closed' then :at else null end,"
            " snoozed_until = :snoozed_until"
            " where id = :id returning id"
        ),
        {"id": conversation_id, "status": status, "at": at, "snoozed_until": snoozed_until},
    )
    if result.first() is None:
        return False
    if status == "closed":
        await session.execute(
            text(
                "update conversation_cycles set closed_at = :at, closed_by = :actor"
                " where conversation_id = :id and closed_at is null"
            ),
            {"id": conversation_id, "at": at, "actor": actor_id},
        )
    return True


async def wake_snoozed(
    session: AsyncSession, now: datetime, limit: int
) -> list[tuple[uuid.UUID, uuid.UUID]]:
    """Reopen chats whose snooze has ended (oldest first, at most `limit`); their ids and
    companies. Service role: the worker wakes every company's chats."""
    result = await session.execute(
        text(
            "update evolution_conversations c set status = 'open', snoozed_until = null"
            " where c.id in (select id from evolution_conversations"
            "  where snoozed_until <= :now order by snoozed_until limit :limit"
            "  for update skip locked)"
            " returning c.id, c.company_id"
        ),
        {"now": now, "limit": limit},
    )
    return [(row.id, row.company_id) for row in result]
