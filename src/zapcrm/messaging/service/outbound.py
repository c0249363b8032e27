"""Sending from the panel or API: validate, queue in the request's transaction, announce.

The request writes the message as `queued` plus an outbox entry for
`evolution:outgoing-messages` and returns at once; `jobs.OutgoingHandler` talks to the gateway.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from zapcrm.auth.identity import Identity
from zapcrm.contacts.identity import WhatsAppPeer, resolve_peer
from zapcrm.contacts.repository import identity as contacts_repo
from zapcrm.exceptions import Conflict, NotFound, ValidationFailed
from zapcrm.kit.phones import InvalidPhone, canonical_phone
from zapcrm.messaging import cache, repository
from zapcrm.messaging.labels import preview_of
from zapcrm.messaging.repository import outbound
from zapcrm.messaging.schemas import MessageOut
from zapcrm.outbox import INCOMING_STREAM, OutboxItem

OUTGOING_STREAM = "evolution:outgoing-messages"
MAX_TEXT_LENGTH = 4096  # WhatsApp's own limit for a text message


async def queue_text(
    session: AsyncSession,
    actor: Identity,
    conversation_id: uuid.UUID,
    *,
    text: str,
    quoted_message_id: uuid.UUID | None = None,
    idempotency_key: str | None = None,
) -> tuple[MessageOut, list[OutboxItem]]:
    """Queue a text (optionally replying to a message) in a conversation the caller may see."""
    body = text.strip()
    if not body:
        raise ValidationFailed(
            "a mensagem está vazia", fields=[{"field": "text", "message": "vazia"}]
        )
    if len(body) > MAX_TEXT_LENGTH:
        raise ValidationFailed(f"a mensagem passa de {MAX_TEXT_LENGTH} caracteres")
    if idempotency_key is not None:
        existing = await outbound.find_by_idempotency_key(
            session, actor.company_id, idempotency_key
        )
        if existing is not None:
            return await _message(session, existing), []
    rows = await repository.get_conversations(session, [conversation_id])  # RLS decides
    if not rows:
        raise NotFound("conversa não encontrada")
    conversation = rows[0]
    quoted = None
    if quoted_message_id is not None:
        quoted_rows = await repository.get_messages(session, [quoted_message_id])
        if not quoted_rows or quoted_rows[0]["conversation_id"] != conversation_id:
            raise ValidationFailed("a mensagem citada não é desta conversa")
        quoted = quoted_rows[0]
        if not quoted["key_id"]:
            raise ValidationFailed("a mensagem citada ainda não foi enviada")
    now = datetime.now(UTC)
    outgoing: dict[str, Any] = {"kind": "text", "text": body}
    if quoted is not None:
        outgoing["quoted"] = {
            "key": {
                "id": quoted["key_id"],
                "remoteJid": conversation["remote_jid"],
                "fromMe": quoted["from_me"],
            },
            "message": {"conversation": quoted["body"] or ""},
        }
    message_id = await outbound.queue_message(
        session,
        {
            "company_id": actor.company_id,
            "instance_id": conversation["instance_id"],
            "conversation_id": conversation_id,
            "remote_jid": conversation["remote_jid"],
            "type": "text",
            "body": body,
            "message_payload": {"quoted": {"stanza_id": quoted["key_id"]}} if quoted else {},
            "at": now,
            "sent_by": actor.user_id,
            "idempotency_key": idempotency_key,
            "outgoing": outgoing,
            "quoted_key_id": quoted["key_id"] if quoted else None,
            "preview": preview_of("text", body, None),
        },
    )
    if message_id is None:  # a concurrent retry with the same key won the race
        assert idempotency_key is not None
        existing = await outbound.find_by_idempotency_key(
            session, actor.company_id, idempotency_key
        )
        assert existing is not None
        return await _message(session, existing), []
    items = [
        OutboxItem(
            OUTGOING_STREAM,
            {"message_id": str(message_id), "instance_id": str(conversation["instance_id"])},
        ),
        OutboxItem(
            INCOMING_STREAM,
            {
                "kind": "message",
                "change": "created",
                "company_id": str(actor.company_id),
                "conversation_id": str(conversation_id),
                "message_id": str(message_id),
                "media": False,
            },
        ),
    ]
    return await _message(session, message_id), items


async def _message(session: AsyncSession, message_id: uuid.UUID) -> MessageOut:
    return cache.message_out(await _message_row(session, message_id))


async def _message_row(session: AsyncSession, message_id: uuid.UUID) -> dict[str, Any]:
    rows = await repository.get_messages(session, [message_id])  # RLS: only visible chats
    if not rows:
        raise NotFound("mensagem não encontrada")
    return rows[0]


async def start_conversation(
    session: AsyncSession,
    actor: Identity,
    *,
    instance_id: uuid.UUID,
    phone: str | None,
    contact_id: uuid.UUID | None,
) -> uuid.UUID:
    """The conversation with a phone or contact on an instance, created (and assigned to the
    caller) when there is none; Conflict when it exists but belongs to someone the caller
    may not see."""
    if not await outbound.instance_in_company(session, actor.company_id, instance_id):
        raise NotFound("instância não encontrada")
    if contact_id is not None:
        contact = await contacts_repo.get_contact(session, actor.company_id, contact_id)
        if contact is None:
            raise NotFound("contato não encontrado")
        if contact.phone_e164 is None:
            raise ValidationFailed("este contato não tem telefone")
        e164 = contact.phone_e164
    elif phone is not None:
        try:
            e164 = canonical_phone(phone)
        except InvalidPhone as error:
            raise ValidationFailed(
                "telefone inválido", fields=[{"field": "phone", "message": str(error)}]
            ) from None
    else:
        raise ValidationFailed("informe phone ou contact_id")
    chat_jid = e164.removeprefix("+") + "@s.whatsapp.net"
    resolved = await resolve_peer(
        session, actor.company_id, WhatsAppPeer(phone_jid=chat_jid, lid=None), source="manual"
    )
    existing = await repository.find_conversation_id(session, instance_id, chat_jid)
    if existing is not None:
        if not await repository.get_conversations(session, [existing]):
            raise Conflict("esta conversa está com outro atendente")
        return existing
    conversation = await repository.upsert_conversation(
        session,
        company_id=actor.company_id,
        instance_id=instance_id,
        remote_jid=chat_jid,
        is_group=False,
        contact_id=resolved.contact_id if resolved else None,
    )
    await outbound.assign_if_free(session, conversation.id, actor.user_id)
    return conversation.id


async def mark_read(
    session: AsyncSession, actor: Identity, conversation_id: uuid.UUID
) -> list[OutboxItem]:
    """Zero the unread count now; the worker tells WhatsApp (blue ticks for the customer)."""
    rows = await repository.get_conversations(session, [conversation_id])
    if not rows or not await outbound.clear_unread(session, conversation_id):
        raise NotFound("conversa não encontrada")
    return [
        OutboxItem(
            OUTGOING_STREAM,
            {
                "kind": "read",
                "conversation_id": str(conversation_id),
                "instance_id": str(rows[0]["instance_id"]),
            },
        )
    ]


async def react(
    session: AsyncSession, actor: Identity, message_id: uuid.UUID, emoji: str
) -> tuple[MessageOut, list[OutboxItem]]:
    """React to a message (an empty emoji removes our reaction); shown at once, sent by the
    worker. WhatsApp accepts exactly one emoji (evolution-api.md §3.5)."""
    if len(emoji) > 16:
        raise ValidationFailed("a reação deve ser um único emoji")
    message = await _message_row(session, message_id)
    if not message["key_id"]:
        raise ValidationFailed("a mensagem ainda não foi enviada")
    conversation = await repository.get_conversations(session, [message["conversation_id"]])
    await outbound.set_own_reaction(session, message_id, emoji, datetime.now(UTC))
    items = [
        OutboxItem(
            OUTGOING_STREAM,
            {
                "kind": "reaction",
                "message_id": str(message_id),
                "emoji": emoji,
                "instance_id": str(conversation[0]["instance_id"]),
            },
        ),
        OutboxItem(
            INCOMING_STREAM,
            {
                "kind": "message",
                "change": "reaction",
                "company_id": str(actor.company_id),
                "conversation_id": str(message["conversation_id"]),
                "message_id": str(message_id),
                "media": False,
            },
        ),
    ]
    return await _message(session, message_id), items
