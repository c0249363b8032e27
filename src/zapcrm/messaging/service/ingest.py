"""Store what the gateway tells us: messages, statuses, edits, deletes, reactions.

Each function runs inside the webhook's single transaction (the caller commits), lets unique
keys decide duplicates, and returns the outbox items that announce what changed.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from zapcrm.campaigns.optout import opt_out_on_reply
from zapcrm.contacts.identity import WhatsAppPeer, resolve_peer
from zapcrm.departments.menu import MenuRule, answer_menu
from zapcrm.evolution.instances import InstanceRef
from zapcrm.evolution.payloads import (
    NormalizedDelete,
    NormalizedEdit,
    NormalizedMessage,
    NormalizedStatusUpdate,
)
from zapcrm.hours.away import AwayRule, reply_if_closed
from zapcrm.logging import get_logger
from zapcrm.messaging import repository
from zapcrm.messaging.changes import message_changed
from zapcrm.messaging.labels import DELETED_PREVIEW, preview_of
from zapcrm.outbox import INCOMING_STREAM, OutboxItem
from zapcrm.surveys.answer import PendingRating, SurveyRule, pending_rating, take_rating

log = get_logger(__name__)

# Chats that are not conversations with a customer (statuses/stories, channels).
_NOT_A_CHAT = frozenset({"broadcast", "newsletter", "unknown"})
_PHONE_SERVER = "@s.whatsapp.net"


@dataclass(frozen=True, slots=True)
class Delivery:
    """Where and when a webhook delivery came from."""

    instance: InstanceRef
    received_at: datetime
    event_datetime: datetime | None = None
    # The company's out-of-office reply, when it is on (for new messages only).
    away: AwayRule | None = None
    # The company's departments menu, when it is on (for new messages only).
    menu: MenuRule | None = None
    # The company's satisfaction survey, when it is on (for new messages only).
    survey: SurveyRule | None = None


def message_event(
    delivery: Delivery,
    *,
    message_id: uuid.UUID,
    conversation_id: uuid.UUID,
    change: str,
    media: bool = False,
    new_contact_id: uuid.UUID | None = None,
) -> OutboxItem:
    """The outbox entry announcing a stored or changed message (and the contact it made
    known, if any)."""
    return message_changed(
        company_id=delivery.instance.company_id,
        conversation_id=conversation_id,
        message_id=message_id,
        change=change,
        media=media,
        instance_id=delivery.instance.id,
        new_contact_id=new_contact_id,
    )


def _canonical_chat_jid(phone_e164: str | None, fallback: str) -> str:
    # One conversation per person and instance, whatever variant (ninth digit or not) WhatsApp
    # used in this delivery: the JID it used is kept as a contact identity for sending.
    return phone_e164.removeprefix("+") + _PHONE_SERVER if phone_e164 else fallback


@dataclass(frozen=True, slots=True)
class _Chat:
    """Where a message goes: its conversation key, its contact (1:1 chats), a conversation
    folded into it, and the contact this message made known (announced after commit)."""

    jid: str
    contact_id: uuid.UUID | None = None
    folded: uuid.UUID | None = None
    new_contact: uuid.UUID | None = None


async def _chat_for(session: AsyncSession, delivery: Delivery, message: NormalizedMessage) -> _Chat:
    """The conversation key of a message, its contact (1:1 chats) and a folded conversation."""
    company_id = delivery.instance.company_id
    if message.is_group:
        if not message.from_me and (message.sender_phone_jid or message.sender_lid):
            # Learn the group member's identity (and its lid<->phone pair) for later chats.
            member = await resolve_peer(
                session,
                company_id,
                WhatsAppPeer(message.sender_phone_jid, message.sender_lid, message.push_name),
            )
            if member is not None and member.created:
                return _Chat(message.remote_jid, new_contact=member.contact_id)
        return _Chat(message.remote_jid)
    peer = WhatsAppPeer(
        phone_jid=message.remote_phone_jid,
        lid=message.remote_lid,
        name=None if message.from_me else message.push_name,
    )
    contact = await resolve_peer(session, company_id, peer)
    phone = contact.phone_e164 if contact else None
    chat_jid = _canonical_chat_jid(phone, message.remote_jid)
    folded = None
    if phone and message.remote_lid:
        folded = await _fold_lid_conversation(
            session, delivery.instance.id, message.remote_lid, chat_jid
        )
    if contact is None:
        return _Chat(chat_jid, folded=folded)
    return _Chat(
        chat_jid,
        contact.contact_id,
        folded,
        new_contact=contact.contact_id if contact.created else None,
    )


async def _fold_lid_conversation(
    session: AsyncSession, instance_id: uuid.UUID, lid: str, chat_jid: str
) -> uuid.UUID | None:
    """A chat first seen under its @lid now has a phone: keep one conversation, keyed by phone.

    Returns the conversation that received another one's messages, if any.
    """
    lid_conversation = await repository.find_conversation_id(session, instance_id, lid)
    if lid_conversation is None:
        return None
    phone_conversation = await repository.find_conversation_id(session, instance_id, chat_jid)
    if phone_conversation is None:
        await repository.rekey_conversation(session, lid_conversation, chat_jid)
        return None
    await repository.fold_conversation(session, lid_conversation, phone_conversation)
    log.info("conversation.lid_folded", conversation_id=str(phone_conversation))
    return phone_conversation


def _payload_of(message: NormalizedMessage) -> dict[str, Any]:
    return message.model_dump(
        mode="json",
        exclude={"raw", "origin_event", "key_id", "remote_jid", "from_me", "push_name"},
        exclude_none=True,
        exclude_defaults=True,
    )


async def ingest_message(
    session: AsyncSession, delivery: Delivery, message: NormalizedMessage
) -> list[OutboxItem]:
    """Store a `messages.upsert` / `send.message` message (insert or merge by key id)."""
    if message.chat_kind in _NOT_A_CHAT:
        log.info("message.skipped", reason=message.chat_kind)
        return []
    if message.message_type == "reaction" and message.reaction is not None:
        return await _ingest_reaction(session, delivery, message)
    if message.message_type == "protocol" and message.protocol is not None:
        return await _ingest_protocol(session, delivery, message)

    company_id = delivery.instance.company_id
    chat = await _chat_for(session, delivery, message)
    chat_jid, contact_id, folded = chat.jid, chat.contact_id, chat.folded
    conversation = await repository.upsert_conversation(
        session,
        company_id=company_id,
        instance_id=delivery.instance.id,
        remote_jid=chat_jid,
        is_group=message.is_group,
        contact_id=contact_id,
        chatwoot_conversation_id=message.chatwoot_conversation_id,
        chatwoot_inbox_id=message.chatwoot_inbox_id,
        message_context=message.message_context,
    )
    at = message.message_timestamp or delivery.received_at
    media = message.media
    rated: PendingRating | None = None
    if delivery.survey and not message.from_me and not message.is_group:
        # Read before the message is stored: a grade leaves a closed chat closed.
        rated = await pending_rating(
            session, conversation.id, message.body, delivery.received_at, delivery.menu
        )
    payload = _payload_of(message)
    if rated is not None:
        payload["survey_rating"] = rated.rating
    write = await repository.store_message(
        session,
        {
            "company_id": company_id,
            "instance_id": delivery.instance.id,
            "conversation_id": conversation.id,
            "key_id": message.key_id,
            "from_me": message.from_me,
            "remote_jid": message.key_remote_jid,
            "sender_jid": message.sender_jid,
            "push_name": message.push_name,
            "type": message.message_type,
            "body": message.body,
            "message_payload": payload,
            "raw_payload": message.raw,
            "status": message.status if message.status != "DELETED" else None,
            "message_timestamp": at,
            "event_datetime": delivery.event_datetime,
            "quoted_key_id": message.quoted.stanza_id if message.quoted else None,
            "media_mimetype": media.mimetype if media else None,
            "media_file_name": media.file_name if media else None,
            "media_size": media.file_length if media else None,
            "media_status": "pending" if media else None,
        },
        preview=preview_of(message.message_type, message.body, message.caption),
        awaits_team=not message.from_me and rated is None,
        # Sent from the phone or WhatsApp Web by a person (API sends come as send.message).
        human_reply=message.from_me and message.origin_event == "messages.upsert",
        contact_id=contact_id,
    )
    extra: list[OutboxItem] = []
    if folded is not None:
        extra.append(
            OutboxItem(
                INCOMING_STREAM,
                {
                    "kind": "conversation",
                    "change": "folded",
                    "company_id": str(company_id),
                    "conversation_id": str(folded),
                },
            )
        )
    if write is None:
        return extra  # a duplicate delivery that brings nothing new
    opted_out = False
    if write.inserted and not message.from_me and contact_id is not None:
        opted_out = await opt_out_on_reply(session, company_id, contact_id, message.body)
    replies: list[OutboxItem] = []
    if write.inserted and rated is not None and delivery.survey is not None:
        replies = await take_rating(
            session,
            delivery.survey,
            rated,
            company_id=company_id,
            instance_id=delivery.instance.id,
            conversation_id=write.conversation_id,
            remote_jid=chat_jid,
            message_id=write.id,
            received_at=delivery.received_at,
        )
    # Someone who just asked to hear no more is not told the shop is closed; a customer
    # grading the service is not told it either, nor offered the menu.
    inbound = write.inserted and not message.from_me and not message.is_group and rated is None
    if inbound and delivery.away and not opted_out:
        replies = await reply_if_closed(
            session,
            delivery.away,
            company_id=company_id,
            instance_id=delivery.instance.id,
            conversation_id=write.conversation_id,
            written_at=at,
            received_at=delivery.received_at,
        )
    if inbound and delivery.menu and not opted_out:
        replies += await answer_menu(
            session,
            delivery.menu,
            company_id=company_id,
            instance_id=delivery.instance.id,
            conversation_id=write.conversation_id,
            body=message.body,
            written_at=at,
            received_at=delivery.received_at,
        )
    items = [
        *extra,
        message_event(
            delivery,
            message_id=write.id,
            conversation_id=write.conversation_id,
            change="created" if write.inserted else "updated",
            media=write.inserted and media is not None,
            new_contact_id=chat.new_contact,
        ),
    ]
    items += await _apply_parked(session, delivery, message.key_id, write.parked)
    return items + replies


async def _apply_parked(
    session: AsyncSession,
    delivery: Delivery,
    key_id: str,
    parked: list[tuple[str, dict[str, Any]]],
) -> list[OutboxItem]:
    """Apply updates that arrived before this message (evolution-api.md §6.2)."""
    items: list[OutboxItem] = []
    for kind, payload in parked:
        if kind == "status":
            items += await _status(
                session, delivery, key_id, payload["status"], payload.get("error"), park=False
            )
        elif kind == "edit":
            items += await _edit(
                session,
                delivery,
                key_id,
                payload.get("text"),
                datetime.fromisoformat(payload["at"]),
                park=False,
            )
        elif kind == "delete":
            items += await _delete(
                session, delivery, key_id, datetime.fromisoformat(payload["at"]), park=False
            )
        elif kind == "reaction":
            items += await _react(
                session,
                delivery,
                key_id,
                payload["reactor"],
                payload["emoji"],
                datetime.fromisoformat(payload["at"]),
                park=False,
            )
    return items


async def _park_if_missing(
    session: AsyncSession, delivery: Delivery, key_id: str, kind: str, payload: dict[str, Any]
) -> None:
    """Park the update unless its message exists.

    The key's lock orders this with the send worker giving our row its key id (attach_key):
    either the worker sees the parked row, or this sees the key id, never neither.
    """
    await repository.lock_key_id(session, delivery.instance.id, key_id)
    if await repository.message_ref(session, delivery.instance.id, key_id) is None:
        await repository.park_update(
            session,
            company_id=delivery.instance.company_id,
            instance_id=delivery.instance.id,
            key_id=key_id,
            kind=kind,
            payload=payload,
        )


async def _status(
    session: AsyncSession,
    delivery: Delivery,
    key_id: str,
    status: str,
    error: str | None,
    *,
    park: bool = True,
) -> list[OutboxItem]:
    if park:
        # Before touching any row, as attach_key does: the send worker may be giving our row
        # this key id, or folding the echo row that holds it into ours, right now.
        await repository.lock_key_id(session, delivery.instance.id, key_id)
    moved = await repository.apply_status(
        session, instance_id=delivery.instance.id, key_id=key_id, status=status, error=error
    )
    if moved is None:
        if park:
            await _park_if_missing(
                session, delivery, key_id, "status", {"status": status, "error": error}
            )
        return []
    message_id, conversation_id = moved
    await repository.sync_last_status(session, conversation_id, message_id, status)
    return [
        message_event(
            delivery, message_id=message_id, conversation_id=conversation_id, change="status"
        )
    ]


async def ingest_status_updates(
    session: AsyncSession, delivery: Delivery, updates: list[NormalizedStatusUpdate]
) -> list[OutboxItem]:
    """Apply `messages.update` receipts; statuses only move forward."""
    items: list[OutboxItem] = []
    for update in updates:
        # No status, or DELETED (an old-version artefact, not a deletion): nothing changes.
        if update.status is None or update.status == "DELETED":
            continue
        error = "; ".join(update.error_detail) or None
        items += await _status(session, delivery, update.key_id, update.status, error)
    return items


async def _edit(
    session: AsyncSession,
    delivery: Delivery,
    key_id: str,
    new_text: str | None,
    at: datetime,
    *,
    park: bool = True,
) -> list[OutboxItem]:
    changed = await repository.apply_edit(
        session, instance_id=delivery.instance.id, key_id=key_id, new_text=new_text, edited_at=at
    )
    if changed is None:
        if park:
            await _park_if_missing(
                session, delivery, key_id, "edit", {"text": new_text, "at": at.isoformat()}
            )
        return []
    message_id, conversation_id, message_type = changed
    preview = preview_of(message_type, new_text, None)
    await repository.sync_last_preview(session, conversation_id, message_id, preview)
    return [
        message_event(
            delivery, message_id=message_id, conversation_id=conversation_id, change="edited"
        )
    ]


async def _delete(
    session: AsyncSession, delivery: Delivery, key_id: str, at: datetime, *, park: bool = True
) -> list[OutboxItem]:
    changed = await repository.apply_delete(
        session, instance_id=delivery.instance.id, key_id=key_id, deleted_at=at
    )
    if changed is None:
        if park:
            await _park_if_missing(session, delivery, key_id, "delete", {"at": at.isoformat()})
        return []
    message_id, conversation_id = changed
    await repository.sync_last_preview(session, conversation_id, message_id, DELETED_PREVIEW)
    return [
        message_event(
            delivery, message_id=message_id, conversation_id=conversation_id, change="deleted"
        )
    ]


async def ingest_edit(
    session: AsyncSession, delivery: Delivery, edit: NormalizedEdit
) -> list[OutboxItem]:
    """Apply `messages.edited` / `send.message.update`: an edit, or a revoke seen there."""
    at = edit.edited_at or delivery.received_at
    if edit.kind == "edit":
        return await _edit(session, delivery, edit.key_id, edit.new_text, at)
    if edit.kind == "revoke":
        return await _delete(session, delivery, edit.key_id, at)
    log.info("message.protocol_ignored", protocol_type=edit.protocol_type)
    return []


async def ingest_delete(
    session: AsyncSession, delivery: Delivery, deletion: NormalizedDelete
) -> list[OutboxItem]:
    """Apply `messages.delete` (revoke for everyone): the message is flagged, never erased."""
    return await _delete(session, delivery, deletion.key_id, delivery.received_at)


async def _react(
    session: AsyncSession,
    delivery: Delivery,
    key_id: str,
    reactor: str,
    emoji: str,
    at: datetime,
    *,
    park: bool = True,
) -> list[OutboxItem]:
    changed = await repository.apply_reaction(
        session,
        instance_id=delivery.instance.id,
        key_id=key_id,
        reactor=reactor,
        emoji=emoji,
        at=at,
    )
    if changed is None:
        if park:
            await _park_if_missing(
                session, delivery, key_id, "reaction",
                {"reactor": reactor, "emoji": emoji, "at": at.isoformat()},
            )  # fmt: skip
        return []
    return [
        message_event(
            delivery, message_id=changed[0], conversation_id=changed[1], change="reaction"
        )
    ]


async def _ingest_reaction(
    session: AsyncSession, delivery: Delivery, message: NormalizedMessage
) -> list[OutboxItem]:
    reaction = message.reaction
    assert reaction is not None
    if not reaction.target_key_id:
        return []
    if message.from_me:
        reactor = "me"
    else:
        reactor = message.sender_jid or message.remote_phone_jid or message.remote_jid
    at = reaction.sent_at or message.message_timestamp or delivery.received_at
    emoji = "" if reaction.is_removal else reaction.emoji
    return await _react(session, delivery, reaction.target_key_id, reactor, emoji, at)


async def _ingest_protocol(
    session: AsyncSession, delivery: Delivery, message: NormalizedMessage
) -> list[OutboxItem]:
    protocol = message.protocol
    assert protocol is not None
    if not protocol.target_key_id:
        return []
    at = protocol.edited_at or message.message_timestamp or delivery.received_at
    if protocol.kind == "edit":
        return await _edit(session, delivery, protocol.target_key_id, protocol.new_text, at)
    if protocol.kind == "revoke":
        return await _delete(session, delivery, protocol.target_key_id, at)
    return []
