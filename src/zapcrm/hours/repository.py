"""SQL for business hours and the out-of-office reply's once-a-day claim."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from zapcrm.db import driver_mappings
from zapcrm.kit.company_rows import save_company_row
from zapcrm.messaging.schemas import AUTOMATIC_MARKS
from zapcrm.models import BusinessHours, Company


async def hours_with_company(
    session: AsyncSession, company_id: uuid.UUID
) -> tuple[BusinessHours | None, Company | None]:
    """The company's hours row (None until an admin saves them) and the company itself."""
    statement = (
        select(Company, BusinessHours)
        .outerjoin(BusinessHours, BusinessHours.company_id == Company.id)
        .where(Company.id == company_id)
    )
    row = (await session.execute(statement)).first()
    if row is None:
        return None, None
    return row[1], row[0]


async def save_hours(
    session: AsyncSession, company_id: uuid.UUID, values: dict[str, Any]
) -> BusinessHours:
    """Create or replace the company's hours; the row as stored."""
    return await save_company_row(session, BusinessHours, company_id, values)


# One statement decides and claims: a chat answered by the reply earlier the same day, or
# written to by the team a moment ago, is left alone (a campaign's message is not the team
# writing: someone answering a campaign after hours gets the reply). Two messages arriving
# together both run it; the row lock makes the second see the first's claim and return nothing.
_CLAIM = text(
    "update evolution_conversations c set away_replied_at = :now"
    " where c.id = :conversation_id"
    " and (c.away_replied_at is null or c.away_replied_at < :day_start)"
    " and not exists (select 1 from evolution_messages m"
    "  where m.conversation_id = c.id and m.from_me and m.message_timestamp >= :quiet_since"
    "  and not m.message_payload ?| cast(:automatic as text[]))"
    " returning c.remote_jid,"
    " (select ct.name from contacts ct where ct.id = c.contact_id) as name,"
    " (select ct.phone_e164 from contacts ct where ct.id = c.contact_id) as phone_e164"
)


async def claim_away_reply(
    session: AsyncSession,
    conversation_id: uuid.UUID,
    *,
    now: datetime,
    day_start: datetime,
    quiet_since: datetime,
) -> dict[str, Any] | None:
    """Mark the chat as answered by the out-of-office reply today and return its JID and
    person; None when it already was today or the team wrote in it since `quiet_since`."""
    rows = await driver_mappings(
        session,
        _CLAIM,
        {
            "conversation_id": conversation_id,
            "now": now,
            "day_start": day_start,
            "quiet_since": quiet_since,
            "automatic": list(AUTOMATIC_MARKS),
        },
    )
    return rows[0] if rows else None
