"""The out-of-office reply: a customer who writes while the business is closed is told so, at
most once per chat per day, in the webhook's own transaction (so the reply exists exactly when
the message that caused it does).

Not sent: in groups, for our own messages, for backlog (a message that reaches us more than
`STALE_AFTER` after it was written: a phone reconnecting or a history sync), in a chat the
team wrote in during the last `TEAM_QUIET` (someone is attending after hours), or a second
time the same day (the company's day). The reply does not answer the chat: in the inbox the
customer is still the last to have spoken and keeps their place in the queue. The rule of
each company is read at most every few seconds per process (`AwayRules`): the webhook path
asks for it on every inbound message.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, time, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from zapcrm.hours import repository
from zapcrm.hours.schedule import Schedule, is_open
from zapcrm.hours.service import compose_reply, schedule_of
from zapcrm.kit.memory import CompanyRules
from zapcrm.logging import get_logger
from zapcrm.messaging.service.outbound import queue_automatic_text
from zapcrm.outbox import OutboxItem

log = get_logger(__name__)

STALE_AFTER = timedelta(minutes=10)
TEAM_QUIET = timedelta(minutes=30)


@dataclass(frozen=True, slots=True)
class AwayRule:
    """What a company with the reply switched on tells people who write while it is closed."""

    company_name: str
    schedule: Schedule
    message: str


class AwayRules(CompanyRules[AwayRule]):
    """Each company's out-of-office rule (None when the reply is off), in process memory."""

    async def load(self, session: AsyncSession, company_id: uuid.UUID) -> AwayRule | None:
        """The rule as saved: the hours, the zone and the reply, when the reply is on."""
        row, company = await repository.hours_with_company(session, company_id)
        if row is None or company is None or not row.away_enabled or not row.away_message:
            return None
        return AwayRule(company.name, schedule_of(row, company), row.away_message)


async def reply_if_closed(
    session: AsyncSession,
    rule: AwayRule,
    *,
    company_id: uuid.UUID,
    instance_id: uuid.UUID,
    conversation_id: uuid.UUID,
    written_at: datetime,
    received_at: datetime,
) -> list[OutboxItem]:
    """Queue the reply to a customer's message written at `written_at` when the business
    was closed then and the chat has not had it today; the send's outbox items, or none."""
    if received_at - written_at > STALE_AFTER or is_open(rule.schedule, written_at):
        return []
    zone = rule.schedule.zone
    day_start = datetime.combine(written_at.astimezone(zone).date(), time(0), zone)
    chat = await repository.claim_away_reply(
        session,
        conversation_id,
        now=received_at,
        day_start=day_start,
        quiet_since=received_at - TEAM_QUIET,
    )
    if chat is None:
        return []
    body = compose_reply(
        rule.message,
        rule.schedule,
        name=chat["name"],
        phone_e164=chat["phone_e164"],
        company=rule.company_name,
        at=written_at,
    )
    if not body:  # a text of variables alone, none of them known for this person
        return []
    message_id, items = await queue_automatic_text(
        session,
        company_id=company_id,
        instance_id=instance_id,
        conversation_id=conversation_id,
        remote_jid=chat["remote_jid"],
        body=body,
        payload={"away_reply": True},
        at=received_at,
        # The customer still waits for a person: the chat keeps its place in the queue.
        inbox=False,
    )
    log.info("away_reply.queued", conversation_id=str(conversation_id), message_id=str(message_id))
    return items
