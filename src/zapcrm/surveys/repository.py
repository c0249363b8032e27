"""SQL of the satisfaction survey: its settings, the cycle a close asks about, the rating."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import NamedTuple

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from zapcrm.departments.schemas import MENU_MAX_TRIES
from zapcrm.kit.company_rows import save_company_row
from zapcrm.models import SatisfactionSurvey


class SurveyTarget(NamedTuple):
    """A closed cycle to ask about, and where the question goes."""

    cycle_id: uuid.UUID
    instance_id: uuid.UUID
    remote_jid: str
    contact_name: str | None
    contact_phone: str | None


class PendingCycle(NamedTuple):
    """The chat's last cycle asked about and not rated yet, its customer, and whether the
    departments' menu waits for the customer's choice in the chat's open cycle."""

    cycle_id: uuid.UUID
    contact_name: str | None
    contact_phone: str | None
    menu_waiting: bool


async def get_survey(session: AsyncSession, company_id: uuid.UUID) -> SatisfactionSurvey | None:
    """The company's survey row (None until an admin saves one)."""
    return await session.get(SatisfactionSurvey, company_id)


async def save_survey(
    session: AsyncSession, company_id: uuid.UUID, values: dict[str, object]
) -> SatisfactionSurvey:
    """Create or replace the company's survey."""
    return await save_company_row(session, SatisfactionSurvey, company_id, values)


async def cycle_to_ask(
    session: AsyncSession, conversation_id: uuid.UUID, closed_at: datetime, quiet: timedelta
) -> SurveyTarget | None:
    """The cycle this close just ended, when its customer should be asked: a person answered
    in it, it is a 1:1 chat, the customer has not opted out, was not asked about it yet, and
    was not asked about any other chat (this one or theirs on another number) within `quiet`."""
    result = await session.execute(
        text(
            "select cc.id, c.instance_id, c.remote_jid, ct.name, ct.phone_e164"
            " from conversation_cycles cc"
            " join evolution_conversations c on c.id = cc.conversation_id"
            " left join contacts ct on ct.id = c.contact_id"
            " where cc.conversation_id = :id and cc.closed_at = :closed_at"
            " and cc.first_human_reply_at is not null and cc.survey_sent_at is null"
            " and not c.is_group and not coalesce(ct.opted_out, false)"
            " and not exists (select 1 from conversation_cycles asked"
            "  join evolution_conversations other on other.id = asked.conversation_id"
            "  where asked.company_id = cc.company_id and asked.survey_sent_at > :since"
            "  and (other.id = c.id or other.contact_id = c.contact_id))"
        ),
        {"id": conversation_id, "closed_at": closed_at, "since": closed_at - quiet},
    )
    row = result.first()
    return SurveyTarget._make(row) if row else None


async def mark_asked(session: AsyncSession, cycle_id: uuid.UUID, at: datetime) -> None:
    """Record that the cycle's customer was asked."""
    await session.execute(
        text("update conversation_cycles set survey_sent_at = :at where id = :id"),
        {"id": cycle_id, "at": at},
    )


# The chat's last cycle asked about, when still unrated and asked recently, and nobody has
# served the customer since: a "Não, obrigado!" after the close reopens the chat, and the grade
# that follows it still rates the service it answers. Also whether the departments' menu waits
# for the open cycle's choice (answer.py gives it the numbers it lists).
_PENDING = text(
    "select asked.id, ct.name, ct.phone_e164,"
    " (cur.id is not null and c.menu_cycle_id = cur.id and c.department_id is null"
    "  and c.menu_tries < :menu_tries) as menu_waiting"
    " from evolution_conversations c"
    " join lateral (select x.id, x.rating, x.survey_sent_at, x.created_at"
    "  from conversation_cycles x where x.conversation_id = c.id"
    "  and x.survey_sent_at is not null order by x.created_at desc limit 1) asked on true"
    " left join conversation_cycles cur on cur.conversation_id = c.id and cur.closed_at is null"
    " left join contacts ct on ct.id = c.contact_id"
    " where c.id = :id and asked.rating is null and asked.survey_sent_at >= :since"
    " and not exists (select 1 from conversation_cycles later"
    "  where later.conversation_id = c.id and later.created_at > asked.created_at"
    "  and later.first_human_reply_at is not null)"
)


async def pending_cycle(
    session: AsyncSession, conversation_id: uuid.UUID, asked_since: datetime
) -> PendingCycle | None:
    """The cycle a grade written now would rate (`_PENDING`), or None (service role, the
    webhook's transaction)."""
    result = await session.execute(
        _PENDING, {"id": conversation_id, "since": asked_since, "menu_tries": MENU_MAX_TRIES}
    )
    row = result.first()
    return PendingCycle._make(row) if row else None


async def record_rating(
    session: AsyncSession,
    cycle_id: uuid.UUID,
    *,
    rating: int,
    message_id: uuid.UUID,
    at: datetime,
) -> bool:
    """Rate the cycle; False when it was rated already (a second answer counts for nothing)."""
    result = await session.execute(
        text(
            "update conversation_cycles set rating = :rating, rated_at = :at,"
            " rating_message_id = :message_id where id = :id and rating is null returning id"
        ),
        {"id": cycle_id, "rating": rating, "at": at, "message_id": message_id},
    )
    return result.first() is not None
