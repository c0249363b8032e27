"""Satisfaction survey rules: members read it, admins change it, and a person's close asks
the customer (the answer is read by answer.py, in the webhook).

The question goes out when a person closes a chat in which a person answered the customer:
not for a chat closed without service (spam, a wrong number), not in groups, not to a customer
who opted out, once per service cycle and at most once a day per customer (ASK_AT_MOST_EVERY:
a customer served three times in an afternoon is asked about the first). Chats closed by the
idle rule (distribution) are not asked: the customer had stopped answering. Callers own the
transaction.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from zapcrm.accounts import repository as accounts_repository
from zapcrm.accounts.audit import audit_action
from zapcrm.auth.identity import Identity
from zapcrm.exceptions import Forbidden
from zapcrm.i18n import N_
from zapcrm.kit import texts
from zapcrm.messaging.service.outbound import queue_automatic_text
from zapcrm.models import Role, SatisfactionSurvey
from zapcrm.outbox import OutboxItem
from zapcrm.surveys import repository
from zapcrm.surveys.schemas import (
    ASK_AT_MOST_EVERY,
    DEFAULT_QUESTION,
    DEFAULT_THANKS,
    SurveyIn,
    SurveyOut,
)


def _out(row: SatisfactionSurvey | None) -> SurveyOut:
    if row is None:
        return SurveyOut(
            enabled=False, question=DEFAULT_QUESTION, thanks=DEFAULT_THANKS, updated_at=None
        )
    return SurveyOut(
        enabled=row.enabled, question=row.question, thanks=row.thanks, updated_at=row.updated_at
    )


async def get_survey(session: AsyncSession, identity: Identity) -> SurveyOut:
    """The company's survey (off, with the default texts, until an admin saves it)."""
    return _out(await repository.get_survey(session, identity.company_id))


async def save_survey(session: AsyncSession, identity: Identity, data: SurveyIn) -> SurveyOut:
    """Turn the survey on or off and set its texts (admins), audited."""
    if not identity.has_role(Role.ADMIN):
        raise Forbidden(N_("apenas administradores mudam a pesquisa de satisfação"))
    row = await repository.save_survey(session, identity.company_id, data.model_dump())
    await audit_action(
        session, identity, "survey.changed", "company", identity.company_id, data.model_dump()
    )
    return _out(row)


async def ask_on_close(
    session: AsyncSession, company_id: uuid.UUID, conversation_id: uuid.UUID, closed_at: datetime
) -> list[OutboxItem]:
    """Queue the question for the cycle a close just ended, when the survey is on and the
    cycle qualifies (module docstring); the send's outbox items."""
    survey = await repository.get_survey(session, company_id)
    if survey is None or not survey.enabled:
        return []
    target = await repository.cycle_to_ask(session, conversation_id, closed_at, ASK_AT_MOST_EVERY)
    if target is None:
        return []
    company = await accounts_repository.get_company(session, company_id)
    person = texts.person_context(
        target.contact_name, target.contact_phone, company.name if company else None
    )
    _question_id, items = await queue_automatic_text(
        session,
        company_id=company_id,
        instance_id=target.instance_id,
        conversation_id=conversation_id,
        remote_jid=target.remote_jid,
        body=texts.render(survey.question, person),
        payload={"survey_request": True},
        at=closed_at,
        # The chat stays closed and its inbox line as it was.
        inbox=False,
    )
    await repository.mark_asked(session, target.cycle_id, closed_at)
    return items
