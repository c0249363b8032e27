"""SQL for quick replies; every query is scoped to the caller's company."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from zapcrm.models import QuickReply


def _contains(value: str) -> str:
    # A `%` or `_` typed by the user is text, not a wildcard.
    literal = value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{literal}%"


async def list_quick_replies(
    session: AsyncSession, company_id: uuid.UUID, *, search: str | None
) -> Sequence[QuickReply]:
    """The company's quick replies by shortcut; `search` matches shortcut or title, any part,
    ignoring case and accents."""
    statement = select(QuickReply).where(QuickReply.company_id == company_id)
    if search:
        pattern = func.app.search_text(_contains(search))
        statement = statement.where(
            or_(
                func.app.search_text(QuickReply.shortcut).like(pattern, escape="\\"),
                func.app.search_text(QuickReply.title).like(pattern, escape="\\"),
            )
        )
    statement = statement.order_by(func.lower(QuickReply.shortcut), QuickReply.id)
    return (await session.scalars(statement)).all()


async def get_quick_reply(
    session: AsyncSession, company_id: uuid.UUID, quick_reply_id: uuid.UUID
) -> QuickReply | None:
    """One quick reply of the company, or None."""
    statement = select(QuickReply).where(
        QuickReply.company_id == company_id, QuickReply.id == quick_reply_id
    )
    return (await session.scalars(statement)).first()


async def insert_quick_reply(session: AsyncSession, values: dict[str, Any]) -> QuickReply:
    """Create a quick reply and return it as stored."""
    row = QuickReply(**values)
    session.add(row)
    await session.flush()
    await session.refresh(row)
    return row


async def change_quick_reply(
    session: AsyncSession, row: QuickReply, values: dict[str, Any]
) -> QuickReply:
    """Write new values and return the refreshed row (its `updated_at` set by the trigger)."""
    for key, value in values.items():
        setattr(row, key, value)
    await session.flush()
    await session.refresh(row)
    return row


async def remove_quick_reply(session: AsyncSession, row: QuickReply) -> None:
    """Delete a quick reply."""
    await session.delete(row)
    await session.flush()
