"""Conversation actions: assign to me, transfer, close, reopen, set pending, snooze.

Operators act on what they can see (their own and unassigned chats) and may transfer a chat
to a colleague; supervisors and admins act on every chat of the company. RLS enforces the
same in Postgres; these rules give clear errors.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Literal

from sqlalchemy.ext.asyncio import AsyncSession

from zapcrm.auth.identity import Identity
from zapcrm.exceptions import NotFound, ValidationFailed
from zapcrm.i18n import N_
from zapcrm.messaging import repository
from zapcrm.messaging.cache import conversation_out
from zapcrm.messaging.changes import conversation_changed
from zapcrm.messaging.repository import actions
from zapcrm.messaging.schemas import ConversationOut
from zapcrm.outbox import OutboxItem
from zapcrm.surveys.service import ask_on_close

Status = Literal["open", "pending", "closed"]
MIN_SNOOZE = timedelta(minutes=1)
MAX_SNOOZE = timedelta(days=365)


def _updated(actor: Identity, conversation_id: uuid.UUID) -> OutboxItem:
    return conversation_changed(actor.company_id, conversation_id)


async def _current(session: AsyncSession, conversation_id: uuid.UUID) -> ConversationOut:
    rows = await repository.get_conversations(session, [conversation_id])
    if not rows:
        raise NotFound(N_("conversa não encontrada"))
    return conversation_out(rows[0])


async def assign(
    session: AsyncSession,
    actor: Identity,
    conversation_id: uuid.UUID,
    assignee_id: uuid.UUID | None,
) -> tuple[ConversationOut, list[OutboxItem]]:
    """Give the conversation to someone of the company (or nobody)."""
    before = await _current(session, conversation_id)
    if assignee_id is not None and not await actions.profile_in_company(
        session, actor.company_id, assignee_id
    ):
        raise ValidationFailed(N_("este usuário não é um atendente ativo da empresa"))
    if not await actions.assign(session, conversation_id, assignee_id):
        raise NotFound(N_("conversa não encontrada"))
    rows = await repository.get_conversations(session, [conversation_id])
    # After a transfer an operator no longer sees the chat: answer with what was written.
    result = (
        conversation_out(rows[0])
        if rows
        else before.model_copy(update={"assignee_id": assignee_id})
    )
    announced = _updated(actor, conversation_id)
    if assignee_id is not None and assignee_id not in (actor.user_id, before.assignee_id):
        # Given to someone by someone else: the live event says who, so the panel of the
        # person receiving it can tell them (web/pages/events.py `notification`).
        announced = OutboxItem(
            announced.stream, {**announced.payload, "assigned_by": str(actor.user_id)}
        )
    return result, [announced]


async def set_status(
    session: AsyncSession,
    actor: Identity,
    conversation_id: uuid.UUID,
    status: Status,
    *,
    snoozed_until: datetime | None = None,
    now: datetime | None = None,
) -> tuple[ConversationOut, list[OutboxItem]]:
    """Close (ending the service cycle, and asking the customer to rate it when the company's
    satisfaction survey is on), reopen, or set pending: until a moment (snooze: the chat
    reopens then, or when the customer writes) or with no end."""
    now = now or datetime.now(UTC)
    if snoozed_until is not None:
        _check_snooze(status, snoozed_until, now)
    await _current(session, conversation_id)
    if not await actions.set_status(
        session, conversation_id, status, now, actor.user_id, snoozed_until
    ):
        raise NotFound(N_("conversa não encontrada"))
    items = [_updated(actor, conversation_id)]
    if status == "closed":
        items += await ask_on_close(session, actor.company_id, conversation_id, now)
    return await _current(session, conversation_id), items


def _check_snooze(status: Status, until: datetime, now: datetime) -> None:
    field = "snoozed_until"
    if status != "pending":
        raise ValidationFailed(
            N_("só uma conversa pendente é adiada"),
            fields=[{"field": field, "message": N_("use com a situação pendente")}],
        )
    if until.tzinfo is None:
        raise ValidationFailed(
            N_("informe o fuso da data (ex.: -03:00)"),
            fields=[{"field": field, "message": N_("sem fuso horário")}],
        )
    if until <= now + MIN_SNOOZE:
        raise ValidationFailed(
            N_("adie para daqui a pelo menos um minuto"),
            fields=[{"field": field, "message": N_("no passado")}],
        )
    if until > now + MAX_SNOOZE:
        raise ValidationFailed(
            N_("adie por no máximo {days} dias", days=MAX_SNOOZE.days),
            fields=[{"field": field, "message": N_("longe demais")}],
        )


async def wake_due(session: AsyncSession, now: datetime, limit: int) -> list[OutboxItem]:
    """Reopen the chats whose snooze ended (service role); the announcements of each."""
    woken = await actions.wake_snoozed(session, now, limit)
    return [
        conversation_changed(company_id, conversation_id) for conversation_id, company_id in woken
    ]
