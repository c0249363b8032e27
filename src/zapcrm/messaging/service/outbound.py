"""Sending from the panel or API: validate, queue in the request's transaction, announce.

Texts, replies, media files (stored before they are queued), retries of failed sends and
reactions.

The request writes the message as `queued` plus an outbox entry for
`evolution:outgoing-messages` and returns at once; `jobs.OutgoingHandler` talks to the gateway.
"""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from zapcrm.auth.identity import Identity
from zapcrm.contacts.identity import WhatsAppPeer, resolve_peer
from zapcrm.contacts.repository import identity as contacts_repo
from zapcrm.evolution.payloads import MediaInfo
from zapcrm.exceptions import Conflict, NotFound, ValidationFailed
from zapcrm.i18n import N_
from zapcrm.kit.phones import InvalidPhone, canonical_phone
from zapcrm.messaging import cache, repository
from zapcrm.messaging.changes import conversation_changed, message_changed
from zapcrm.messaging.labels import preview_of
from zapcrm.messaging.media import MediaStorage
from zapcrm.messaging.repository import outbound
from zapcrm.messaging.schemas import INBOX_ASIDE_MARKS, ConversationOut, MessageOut
from zapcrm.messaging.uploads import MediaUpload
from zapcrm.outbox import OutboxItem

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
            N_("a mensagem está vazia"), fields=[{"field": "text", "message": N_("vazia")}]
        )
    if len(body) > MAX_TEXT_LENGTH:
        raise ValidationFailed(N_("a mensagem passa de {limit} caracteres", limit=MAX_TEXT_LENGTH))
    signer = actor.display_name.strip()
    if (
        idempotency_key is None
        and quoted_message_id is None
        and len(_signature(signer, body)) <= MAX_TEXT_LENGTH
    ):
        # The common send (a campaign's are queued elsewhere): one statement reads the chat
        # and the signature setting and queues, where the checks below are three round trips.
        return await _queue_plain_text(session, actor, conversation_id, body, signer)
    if (replayed := await _replayed(session, actor, idempotency_key)) is not None:
        return replayed, []
    conversation = await _visible_conversation(session, conversation_id)
    quoted = await _quoted(session, conversation, quoted_message_id)
    sent_text = await _signed(session, actor, signer, body)
    return await _queue(
        session,
        actor,
        conversation,
        {
            "id": uuid.uuid4(),
            "type": "text",
            "body": body,
            "message_payload": _quote_payload(quoted),
            "outgoing": {"kind": "text", "text": sent_text} | _quote_outgoing(conversation, quoted),
            "quoted_key_id": quoted["key_id"] if quoted else None,
            "preview": preview_of("text", body, None),
        },
        idempotency_key,
    )


def _signature(name: str, body: str) -> str:
    """`body` signed with the agent's name in bold on top (repository/outbound.py
    `queue_text_in_chat` writes the same in SQL)."""
    return f"*{name}:*\n{body}"


async def _queue_plain_text(
    session: AsyncSession, actor: Identity, conversation_id: uuid.UUID, body: str, signer: str
) -> tuple[MessageOut, list[OutboxItem]]:
    """`queue_text` for a text without a quote or an idempotency key whose signed form fits
    (so no check can refuse it after the chat is known): in one statement."""
    row = await outbound.queue_text_in_chat(
        session,
        message_id=uuid.uuid4(),
        company_id=actor.company_id,
        conversation_id=conversation_id,
        body=body,
        signer=signer,
        preview=preview_of("text", body, None),
        at=datetime.now(UTC),
        sent_by=actor.user_id,
    )
    if row is None:
        raise NotFound(N_("conversa não encontrada"))
    message, chat = cache.message_and_chat_out(row)
    items = send_items(
        actor.company_id,
        conversation_id,
        row["instance_id"],
        row["id"],
        "created",
        carried=(message, chat),
    )
    return message, items


async def _signed(session: AsyncSession, actor: Identity, signer: str, body: str) -> str:
    """The text WhatsApp gets: with the agent's name (`signer`) in bold on top when the
    company signs its messages (the chat keeps showing what was typed)."""
    if not signer or not await outbound.company_signs_messages(session, actor.company_id):
        return body
    signed = _signature(signer, body)
    if len(signed) > MAX_TEXT_LENGTH:
        raise ValidationFailed(
            N_("com a assinatura, a mensagem passa de {limit} caracteres", limit=MAX_TEXT_LENGTH)
        )
    return signed


async def queue_media(
    session: AsyncSession,
    actor: Identity,
    conversation_id: uuid.UUID,
    upload: MediaUpload,
    *,
    storage: MediaStorage,
    message_id: uuid.UUID,
    idempotency_key: str | None = None,
) -> tuple[MessageOut, list[OutboxItem]]:
    """Store an uploaded file, then queue it (image, video, document or voice note).

    The file is written under `message_id` before the row exists, so the worker always finds
    it; the caller owns the transaction and deletes the file (`discard_media`) when it does
    not commit or when the answer is another request's message (same idempotency key).
    """
    if (replayed := await _replayed(session, actor, idempotency_key)) is not None:
        return replayed, []
    conversation = await _visible_conversation(session, conversation_id)
    quoted = await _quoted(session, conversation, upload.quoted_message_id)
    media_path = await storage.save(actor.company_id, message_id, upload.data, upload.mimetype)
    # The same shape ingestion gives an inbound media message (MediaInfo under `media`), so the
    # inbox renders both alike and the `send.message` echo merges without surprises.
    media = MediaInfo(
        mimetype=upload.mimetype,
        file_name=upload.file_name,
        file_length=len(upload.data),
        ptt=True if upload.kind == "audio" else None,
    ).model_dump(mode="json", exclude_none=True)
    payload: dict[str, Any] = {"message_type": upload.kind, "media": media}
    if upload.caption:
        payload["caption"] = upload.caption
    outgoing: dict[str, Any] = {
        "kind": "voice_note" if upload.kind == "audio" else "media",
        "mediatype": upload.kind,
        "mimetype": upload.mimetype,
        "caption": upload.caption,
        "file_name": upload.file_name,
        "media_path": media_path,
    } | _quote_outgoing(conversation, quoted)
    return await _queue(
        session,
        actor,
        conversation,
        {
            "id": message_id,
            "type": upload.kind,
            "body": None,
            "message_payload": payload | _quote_payload(quoted),
            "outgoing": outgoing,
            "quoted_key_id": quoted["key_id"] if quoted else None,
            "preview": preview_of(upload.kind, None, upload.caption),
            "media_mimetype": upload.mimetype,
            "media_file_name": upload.file_name,
            "media_size": len(upload.data),
            "media_path": media_path,
            "media_status": "stored",
        },
        idempotency_key,
    )


async def discard_media(
    storage: MediaStorage, actor: Identity, message_id: uuid.UUID, upload: MediaUpload
) -> None:
    """Delete the file `queue_media` stored when its transaction did not commit."""
    await storage.delete(actor.company_id, message_id, upload.mimetype)


async def _replayed(
    session: AsyncSession, actor: Identity, idempotency_key: str | None
) -> MessageOut | None:
    """The message a retried request (same idempotency key) already created."""
    if idempotency_key is None:
        return None
    existing = await outbound.find_by_idempotency_key(session, actor.company_id, idempotency_key)
    return None if existing is None else await _message(session, existing)


async def _visible_conversation(
    session: AsyncSession, conversation_id: uuid.UUID
) -> dict[str, Any]:
    rows = await repository.get_conversations(session, [conversation_id])  # RLS decides
    if not rows:
        raise NotFound(N_("conversa não encontrada"))
    return rows[0]


async def _quoted(
    session: AsyncSession, conversation: dict[str, Any], quoted_message_id: uuid.UUID | None
) -> dict[str, Any] | None:
    """The message replied to, which must be of this conversation and already sent."""
    if quoted_message_id is None:
        return None
    quoted_rows = await repository.get_messages(session, [quoted_message_id])
    if not quoted_rows or quoted_rows[0]["conversation_id"] != conversation["id"]:
        raise ValidationFailed(N_("a mensagem citada não é desta conversa"))
    quoted = quoted_rows[0]
    if not quoted["key_id"]:
        raise ValidationFailed(N_("a mensagem citada ainda não foi enviada"))
    return quoted


def _quote_payload(quoted: dict[str, Any] | None) -> dict[str, Any]:
    return {"quoted": {"stanza_id": quoted["key_id"]}} if quoted else {}


def _quote_outgoing(conversation: dict[str, Any], quoted: dict[str, Any] | None) -> dict[str, Any]:
    """The gateway's `quoted` field (§3.2): the key and the text it shows above the reply."""
    if quoted is None:
        return {}
    return {
        "quoted": {
            "key": {
                "id": quoted["key_id"],
                "remoteJid": conversation["remote_jid"],
                "fromMe": quoted["from_me"],
            },
            "message": {"conversation": quoted["body"] or ""},
        }
    }


async def _queue(
    session: AsyncSession,
    actor: Identity,
    conversation: dict[str, Any],
    values: dict[str, Any],
    idempotency_key: str | None,
) -> tuple[MessageOut, list[OutboxItem]]:
    """Insert the queued row and its outbox entries; with an idempotency key that a concurrent
    request already used, that request's message and no entries."""
    row = await outbound.queue_message(
        session,
        {
            **values,
            "company_id": actor.company_id,
            "instance_id": conversation["instance_id"],
            "conversation_id": conversation["id"],
            "remote_jid": conversation["remote_jid"],
            "at": datetime.now(UTC),
            "sent_by": actor.user_id,
            "idempotency_key": idempotency_key,
        },
    )
    if row is None:  # a concurrent retry with the same key won the race
        assert idempotency_key is not None
        existing = await outbound.find_by_idempotency_key(
            session, actor.company_id, idempotency_key
        )
        assert existing is not None
        return await _message(session, existing), []
    message, chat = cache.message_and_chat_out(row)
    # The callers commit without touching the row or the chat again (a scheduled round's next
    # send to the same chat announces a newer copy of it): the announcement carries both.
    items = send_items(
        actor.company_id,
        conversation["id"],
        conversation["instance_id"],
        row["id"],
        "created",
        carried=(message, chat),
    )
    return message, items


async def queue_automatic_text(
    session: AsyncSession,
    *,
    company_id: uuid.UUID,
    instance_id: uuid.UUID,
    conversation_id: uuid.UUID,
    remote_jid: str,
    body: str,
    payload: dict[str, Any],
    at: datetime,
    inbox: bool = True,
) -> tuple[uuid.UUID, list[OutboxItem]]:
    """Queue a text nobody typed (a campaign's, the out-of-office reply) in a chat: sent by
    no one, never an agent's reply in the reports; `payload` says what sent it, `inbox`
    whether it becomes the chat's latest message in the inbox."""
    if not inbox and not payload.keys() & set(INBOX_ASIDE_MARKS):
        # The send worker and the inbox know such a line by its mark, when its echo comes first.
        raise ValueError("a line kept out of the inbox needs one of INBOX_ASIDE_MARKS")
    message_id = uuid.uuid4()
    row = await outbound.queue_message(
        session,
        {
            "id": message_id,
            "type": "text",
            "body": body,
            "message_payload": payload,
            "outgoing": {"kind": "text", "text": body},
            "quoted_key_id": None,
            "preview": preview_of("text", body, None),
            "company_id": company_id,
            "instance_id": instance_id,
            "conversation_id": conversation_id,
            "remote_jid": remote_jid,
            "at": at,
            "sent_by": None,
            "human_reply": False,
            "idempotency_key": None,
        },
        inbox=inbox,
    )
    assert row is not None  # no idempotency key: the insert always happens
    return message_id, send_items(company_id, conversation_id, instance_id, message_id, "created")


def send_items(
    company_id: uuid.UUID,
    conversation_id: uuid.UUID,
    instance_id: uuid.UUID,
    message_id: uuid.UUID,
    change: str,
    carried: tuple[MessageOut, ConversationOut | None] | None = None,
    **job: Any,
) -> list[OutboxItem]:
    """The send job for the worker and the live event of the message's change, carrying the
    message and its chat when the caller knows them as they will be committed (`carried`,
    see cache.copies)."""
    # Our own file is already stored: no download job for it (media stays False).
    announcement = message_changed(
        company_id=company_id,
        conversation_id=conversation_id,
        message_id=message_id,
        change=change,
    )
    if carried is not None:
        announcement = replace(announcement, after_commit=cache.copies(*carried))
    return [
        OutboxItem(
            OUTGOING_STREAM,
            {"message_id": str(message_id), "instance_id": str(instance_id)} | job,
        ),
        announcement,
    ]


async def retry(
    session: AsyncSession, actor: Identity, message_id: uuid.UUID
) -> tuple[MessageOut, list[OutboxItem]]:
    """Queue a failed send again, as the same message (sending.py rule 5).

    Only an outgoing message of ours in status ERROR without a WhatsApp key id qualifies: a key
    id means WhatsApp took the message, and sending it again would deliver it twice. An earlier
    attempt that may have reached the gateway is checked by the worker (rule 2) before any new
    call. Visible to whoever may send in the conversation (RLS), else NotFound.
    """
    message = await outbound.failed_send(session, message_id)
    if message is None:
        raise NotFound(N_("mensagem não encontrada"))
    if not message["from_me"] or not message["ours"]:
        raise Conflict(N_("só mensagens enviadas pelo zapcrm podem ser reenviadas"))
    if message["key_id"]:
        raise Conflict(
            N_(
                "o WhatsApp já recebeu esta mensagem; reenviá-la poderia duplicá-la,"
                " escreva uma nova se precisar"
            )
        )
    if message["status"] != "ERROR":
        raise Conflict(N_("esta mensagem não falhou: só um envio com falha pode ser reenviado"))
    requeued = await outbound.requeue_failed(
        session, message_id, message["conversation_id"], datetime.now(UTC)
    )
    if not requeued:
        # A concurrent retry, or a late acknowledgement, changed it since we read it.
        raise Conflict(N_("esta mensagem mudou agora mesmo; atualize a conversa"))
    items = send_items(
        message["company_id"],
        message["conversation_id"],
        message["instance_id"],
        message_id,
        "retried",
        recheck_number=True,
    )
    return await _message(session, message_id), items


async def _message(session: AsyncSession, message_id: uuid.UUID) -> MessageOut:
    return cache.message_out(await _message_row(session, message_id))


async def _message_row(session: AsyncSession, message_id: uuid.UUID) -> dict[str, Any]:
    rows = await repository.get_messages(session, [message_id])  # RLS: only visible chats
    if not rows:
        raise NotFound(N_("mensagem não encontrada"))
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
        raise NotFound(N_("instância não encontrada"))
    if contact_id is not None:
        contact = await contacts_repo.get_contact(session, actor.company_id, contact_id)
        if contact is None:
            raise NotFound(N_("contato não encontrado"))
        if contact.phone_e164 is None:
            raise ValidationFailed(N_("este contato não tem telefone"))
        e164 = contact.phone_e164
    elif phone is not None:
        try:
            e164 = canonical_phone(phone)
        except InvalidPhone as error:
            raise ValidationFailed(
                N_("telefone inválido"), fields=[{"field": "phone", "message": error.reason}]
            ) from None
    else:
        raise ValidationFailed(N_("informe phone ou contact_id"))
    chat_jid = e164.removeprefix("+") + "@s.whatsapp.net"
    resolved = await resolve_peer(
        session, actor.company_id, WhatsAppPeer(phone_jid=chat_jid, lid=None), source="manual"
    )
    existing = await repository.find_conversation_id(session, instance_id, chat_jid)
    if existing is None and resolved is not None:
        # The person's chat may be under another of their keys (the old 12-digit form, an
        # @lid), and a colleague's chat is not visible here: ask by contact.
        existing = await repository.contact_conversation_id(
            session, instance_id, resolved.contact_id
        )
    if existing is not None:
        if not await repository.get_conversations(session, [existing]):
            raise Conflict(N_("esta conversa está com outro atendente ou em outro setor"))
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
    """Zero the unread count now; the worker tells WhatsApp (blue ticks for the customer) and,
    when there was something unread, every open list (a colleague's badge would otherwise stay
    until the chat's next message)."""
    rows = await repository.get_conversations(session, [conversation_id])
    unread = await outbound.clear_unread(session, conversation_id) if rows else None
    if unread is None:
        raise NotFound(N_("conversa não encontrada"))
    items = [
        OutboxItem(
            OUTGOING_STREAM,
            {
                "kind": "read",
                "conversation_id": str(conversation_id),
                "instance_id": str(rows[0]["instance_id"]),
            },
        )
    ]
    if unread:
        items.append(conversation_changed(actor.company_id, conversation_id))
    return items


async def react(
    session: AsyncSession, actor: Identity, message_id: uuid.UUID, emoji: str
) -> tuple[MessageOut, list[OutboxItem]]:
    """React to a message (an empty emoji removes our reaction); shown at once, sent by the
    worker. WhatsApp accepts exactly one emoji (evolution-api.md §3.5)."""
    if len(emoji) > 16:
        raise ValidationFailed(N_("a reação deve ser um único emoji"))
    message = await _message_row(session, message_id)
    if not message["key_id"]:
        raise ValidationFailed(N_("a mensagem ainda não foi enviada"))
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
        message_changed(
            company_id=actor.company_id,
            conversation_id=message["conversation_id"],
            message_id=message_id,
            change="reaction",
        ),
    ]
    return await _message(session, message_id), items
