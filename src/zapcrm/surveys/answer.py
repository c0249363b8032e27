"""The customer's answer to the satisfaction survey, read in the webhook's transaction.

After a person closes a chat the customer is asked for a 1-5 rating (service.py). A message
within `ANSWER_WINDOW` that reads as a rating ("5", "nota 4", "5/5", "⭐⭐⭐") rates that service
cycle and is thanked, and it does not reopen the chat nor count as unread: nobody has to close
it again. Anything else ("obrigado!", "10", "ainda não recebi") is an ordinary message that
reopens the chat, as any customer message does; a grade after it still counts while nobody has
answered the customer since (but a number the departments' menu is waiting for, and lists, is
the menu's choice). A cycle is rated once.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from zapcrm.accounts import repository as accounts_repository
from zapcrm.departments.menu import MenuRule
from zapcrm.kit import texts
from zapcrm.kit.folding import fold
from zapcrm.kit.memory import CompanyRules
from zapcrm.logging import get_logger
from zapcrm.messaging.changes import conversation_changed
from zapcrm.messaging.service.outbound import queue_automatic_text
from zapcrm.outbox import OutboxItem
from zapcrm.surveys import repository
from zapcrm.surveys.schemas import ANSWER_WINDOW

log = get_logger(__name__)

# A longer text is the customer saying something, not giving a grade.
_ANSWER_MAX = 30
# The grade first, maybe after "nota", maybe with its scale ("5/5", "4 de 5"); text folded.
_GRADE = re.compile(r"^\W*(?:nota\W*)?([1-5])(?:\s*(?:/|de)\s*5)?(?!\d)")
_STARS = re.compile(r"^(?:\s*[⭐★]\ufe0f?)+\s*$")


def rating_in(answer: str | None) -> int | None:
    """The 1-5 grade an answer gives, or None when it is not (only) a grade."""
    body = (answer or "").strip()
    if not body or len(body) > _ANSWER_MAX:
        return None
    if _STARS.match(body):
        stars = sum(body.count(star) for star in "⭐★")
        return stars if stars <= 5 else None
    folded = fold(body)
    graded = _GRADE.match(folded)
    if graded is None or any(ch.isdigit() for ch in folded[graded.end() :]):
        return None  # "quero 2", "1 ou 2", "10": not a grade
    return int(graded.group(1))


@dataclass(frozen=True, slots=True)
class SurveyRule:
    """What a company with the survey switched on thanks its customers with."""

    thanks: str
    company_name: str | None = None


@dataclass(frozen=True, slots=True)
class PendingRating:
    """A customer's message that rates the chat's last cycle."""

    cycle: repository.PendingCycle
    rating: int


class SurveyRules(CompanyRules[SurveyRule]):
    """Each company's survey (None when off), in process memory."""

    async def load(self, session: AsyncSession, company_id: uuid.UUID) -> SurveyRule | None:
        """The survey's thanks and the company's name, when the survey is on."""
        survey = await repository.get_survey(session, company_id)
        if survey is None or not survey.enabled:
            return None
        company = await accounts_repository.get_company(session, company_id)
        return SurveyRule(survey.thanks, company.name if company else None)


async def pending_rating(
    session: AsyncSession,
    conversation_id: uuid.UUID,
    body: str | None,
    received_at: datetime,
    menu: MenuRule | None = None,
) -> PendingRating | None:
    """The rating a customer's message gives the chat's last cycle asked about, when that was
    recent, it is not rated yet and nobody served the customer since (read before the message
    is stored, which then leaves a closed chat closed)."""
    rating = rating_in(body)
    if rating is None:
        return None  # most messages: no query
    cycle = await repository.pending_cycle(session, conversation_id, received_at - ANSWER_WINDOW)
    if cycle is None:
        return None
    if cycle.menu_waiting and menu is not None and menu.choice(body) is not None:
        return None  # "2" to a menu that lists a 2 is that choice
    return PendingRating(cycle, rating)


async def take_rating(
    session: AsyncSession,
    rule: SurveyRule,
    pending: PendingRating,
    *,
    company_id: uuid.UUID,
    instance_id: uuid.UUID,
    conversation_id: uuid.UUID,
    remote_jid: str,
    message_id: uuid.UUID,
    received_at: datetime,
) -> list[OutboxItem]:
    """Rate the cycle with the stored answer and thank the customer; the outbox items."""
    if not await repository.record_rating(
        session, pending.cycle.cycle_id, rating=pending.rating, message_id=message_id,
        at=received_at,
    ):  # fmt: skip
        return []  # a second grade in a burst: the first one counts
    person = texts.person_context(
        pending.cycle.contact_name, pending.cycle.contact_phone, rule.company_name
    )
    _thanks_id, items = await queue_automatic_text(
        session,
        company_id=company_id,
        instance_id=instance_id,
        conversation_id=conversation_id,
        remote_jid=remote_jid,
        body=texts.render(rule.thanks, person),
        payload={"survey_reply": True},
        at=received_at,
        inbox=False,
    )
    log.info("survey.rated", conversation_id=str(conversation_id), rating=pending.rating)
    return [*items, conversation_changed(company_id, conversation_id)]
