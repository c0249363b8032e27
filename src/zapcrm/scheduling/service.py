"""Scheduled messages: who may schedule and cancel (whoever may write in the chat), which
moments are accepted, and the worker's turn, which queues each due text as an ordinary send
by the person who scheduled it (the number check, retries and the no-duplicate rule apply as
to any send). Callers own the transaction.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from zapcrm.auth.identity import Identity
from zapcrm.exceptions import Conflict, NotFound, ValidationFailed, ZapcrmError
from zapcrm.i18n import N_
from zapcrm.logging import get_logger
from zapcrm.messaging import repository as messaging_repository
from zapcrm.messaging.service import outbound
from zapcrm.models import Profile, Role, ScheduledMessage
from zapcrm.outbox import OutboxItem
from zapcrm.scheduling import repository
from zapcrm.scheduling.schemas import MAX_AHEAD, MIN_AHEAD, ScheduledIn, ScheduledOut

log = get_logger(__name__)

# Due messages queued per transaction: a backlog (the worker was down) drains in rounds.
DUE_BATCH = 200


def _out(row: ScheduledMessage) -> ScheduledOut:
    return ScheduledOut(
        id=row.id,
        conversation_id=row.conversation_id,
        body=row.body,
        send_at=row.send_at,
        status=row.status,
        created_by=row.created_by,
        message_id=row.message_id,
        error=row.error,
        created_at=row.created_at,
    )


def _field(message: str, field: str, reason: str) -> ValidationFailed:
    return ValidationFailed(message, fields=[{"field": field, "message": reason}])


async def schedule(
    session: AsyncSession,
    actor: Identity,
    conversation_id: uuid.UUID,
    data: ScheduledIn,
    now: datetime | None = None,
) -> ScheduledOut:
    """Schedule a text in a chat the caller may see, for a moment 1 minute to a year ahead."""
    now = now or datetime.now(UTC)
    body = data.text.strip()
    if not body:
        raise _field(N_("a mensagem está vazia"), "text", N_("vazia"))
    if data.send_at.tzinfo is None:
        raise _field(N_("informe o fuso da data (ex.: -03:00)"), "send_at", N_("sem fuso horário"))
    if data.send_at < now + MIN_AHEAD:
        raise _field(N_("agende para daqui a pelo menos um minuto"), "send_at", N_("cedo demais"))
    if data.send_at > now + MAX_AHEAD:
        raise _field(N_("agende para no máximo um ano à frente"), "send_at", N_("longe demais"))
    if not await messaging_repository.get_conversations(session, [conversation_id]):
        raise NotFound(N_("conversa não encontrada"))  # RLS: not the caller's to write in
    row = await repository.add(
        session,
        {
            "company_id": actor.company_id,
            "conversation_id": conversation_id,
            "created_by": actor.user_id,
            "body": body,
            "send_at": data.send_at,
        },
    )
    return _out(row)


async def list_for_conversation(
    session: AsyncSession, conversation_id: uuid.UUID
) -> list[ScheduledOut]:
    """A chat's scheduled messages: those still to go (soonest first), then the rest."""
    if not await messaging_repository.get_conversations(session, [conversation_id]):
        raise NotFound(N_("conversa não encontrada"))
    return [_out(row) for row in await repository.for_conversation(session, conversation_id)]


async def cancel(session: AsyncSession, scheduled_id: uuid.UUID) -> ScheduledOut:
    """Cancel one that has not gone yet (anyone who sees its chat)."""
    row = await repository.cancel(session, scheduled_id)
    if row is not None:
        return _out(row)
    if await repository.get(session, scheduled_id) is None:
        raise NotFound(N_("mensagem agendada não encontrada"))
    raise Conflict(N_("esta mensagem agendada já foi enviada ou cancelada"))


async def send_due(
    session: AsyncSession, now: datetime, limit: int = DUE_BATCH
) -> list[tuple[uuid.UUID, list[OutboxItem]]]:
    """Queue every due message as a send by whoever scheduled it (service role); each send's
    company and outbox items. One that cannot be queued (its text refused, its chat gone) is
    `failed` with the reason; the others go on."""
    sends: list[tuple[uuid.UUID, list[OutboxItem]]] = []
    for row in await repository.due(session, now, limit):
        profile = await session.get(Profile, row.created_by) if row.created_by else None
        if profile is None:
            await _fail(session, row, N_("quem agendou não faz mais parte da empresa"))
            continue
        if not profile.active:
            # Not in the name (and signature) of someone who left: the chat's scheduled list
            # shows it failed with the reason, to whoever takes the chat over (deactivation
            # put it back in the queue).
            await _fail(session, row, N_("quem agendou foi desativado; a mensagem não foi enviada"))
            continue
        try:
            async with session.begin_nested():
                message, queued = await outbound.queue_text(
                    session,
                    _sender(row, profile),
                    row.conversation_id,
                    text=row.body,
                    # A retried round finds the same message instead of sending twice.
                    idempotency_key=f"scheduled:{row.id}",
                )
        except ZapcrmError as error:
            await _fail(session, row, error.message)
            continue
        await repository.settle(session, row.id, status="sent", message_id=message.id)
        sends.append((row.company_id, queued))
    return sends


async def _fail(session: AsyncSession, row: ScheduledMessage, reason: str) -> None:
    await repository.settle(session, row.id, status="failed", error=str(reason)[:500])
    log.warning("scheduled.failed", scheduled_id=str(row.id))


def _sender(row: ScheduledMessage, profile: Profile) -> Identity:
    """Who the send is by: the person who scheduled it, as the reports and the chat show."""
    return Identity(
        user_id=profile.id,
        company_id=row.company_id,
        role=Role(profile.role),
        email=profile.email,
        display_name=profile.display_name,
        session_id=None,
        claims={},
    )
