"""A chat's transcript: who may export it (whoever may read it), what it is called, and the
record that it left the system (it holds a customer's personal data). Callers own the
transaction; the text itself is streamed afterwards (messaging/transcript.py)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Select
from sqlalchemy.ext.asyncio import AsyncSession

from zapcrm.accounts import service as accounts_service
from zapcrm.accounts.audit import audit_action
from zapcrm.auth.identity import Identity
from zapcrm.exceptions import NotFound
from zapcrm.i18n import N_
from zapcrm.kit.phones import display_phone
from zapcrm.messaging import repository
from zapcrm.messaging.cache import conversation_out
from zapcrm.messaging.repository.transcript import transcript_statement


@dataclass(frozen=True)
class TranscriptPlan:
    """What the stream reads and how it names people and times."""

    statement: Select[Any]
    timezone: ZoneInfo
    title: str
    phone: str
    customer: str
    exported_by: str
    is_group: bool


async def plan_transcript(
    session: AsyncSession, identity: Identity, conversation_id: uuid.UUID, *, with_notes: bool
) -> TranscriptPlan:
    """The transcript of a chat the caller may read (404 otherwise), audited."""
    rows = await repository.get_conversations(session, [conversation_id])
    if not rows:
        raise NotFound(N_("conversa não encontrada"))
    chat = conversation_out(rows[0])
    phone = display_phone(chat.contact.phone_e164 if chat.contact else None)
    name = chat.contact.name if chat.contact and chat.contact.name else ""
    if chat.is_group:
        title = chat.subject or "Grupo"
    else:
        title = name or phone or chat.remote_jid.split("@", 1)[0]
    await audit_action(
        session,
        identity,
        "conversation.exported",
        "conversation",
        conversation_id,
        {"notes": with_notes},
    )
    return TranscriptPlan(
        statement=transcript_statement(conversation_id, with_notes=with_notes),
        timezone=await accounts_service.company_zone(session, identity.company_id),
        title=title,
        phone=phone,
        customer=name or phone or "Cliente",
        exported_by=identity.display_name or identity.email,
        is_group=chat.is_group,
    )
