"""Message events: new messages, receipts, deletes and edits.

Covers `messages.upsert`, `send.message`, `messages.update`, `messages.delete`,
`messages.edited` and `send.message.update` (evolution-api.md §2.1-§2.6).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from zapcrm.evolution.jids import (
    JidKind,
    PeerIdentity,
    bare_jid,
    resolve_key_chat,
    resolve_key_sender,
)
from zapcrm.evolution.payloads._base import NormalizedModel
from zapcrm.evolution.payloads._content import (
    ContactCard,
    LocationInfo,
    MediaInfo,
    MessageContent,
    MessageKind,
    PollInfo,
    ProtocolInfo,
    ProtocolKind,
    ReactionInfo,
    parse_message_content,
    protocol_from_dict,
    unwrap_message,
)
from zapcrm.evolution.payloads._errors import MalformedPayload
from zapcrm.evolution.payloads._status import MessageStatus, parse_status
from zapcrm.evolution.payloads._values import (
    as_bool,
    as_dict,
    as_list,
    as_text,
    first_text,
    parse_each,
    parse_int,
    parse_timestamp,
    require_dict,
    require_text,
)

# Evolution fills `pushName` with Portuguese "You" for our own messages (§2.1, §6.6).
_OWN_PUSH_NAME = "Você"


class QuotedInfo(NormalizedModel):
    """The message a reply quotes (`contextInfo.stanzaId` / `quotedMessage`)."""

    stanza_id: str
    participant: str | None = None
    remote_jid: str | None = None
    text: str | None = None
    kind: MessageKind | None = None


class NormalizedMessage(NormalizedModel):
    """One message from `messages.upsert` or `send.message`, ready to store."""

    origin_event: Literal["messages.upsert", "send.message"]
    key_id: str
    """WhatsApp message id (`key.id`): with the instance, the idempotency key (§6.1)."""
    remote_jid: str
    """The chat: the phone JID when known, else the LID; the group JID for groups."""
    remote_phone_jid: str | None = None
    remote_lid: str | None = None
    key_remote_jid: str
    """`key.remoteJid` exactly as received."""
    chat_kind: JidKind
    is_group: bool
    sender_jid: str | None = None
    """Group/broadcast sender, phone JID when known; None in 1:1 chats."""
    sender_phone_jid: str | None = None
    sender_lid: str | None = None
    from_me: bool
    push_name: str | None = None
    status: MessageStatus | None = None
    """None for 1.x, which sends no status (§2.1 Example G)."""
    addressing_mode: str | None = None
    message_type: MessageKind
    raw_message_type: str | None = None
    """`data.messageType` as sent (e.g. `ephemeralMessage` for wrapped content)."""
    content_key: str | None = None
    wrappers: tuple[str, ...] = ()
    body: str | None = None
    caption: str | None = None
    media: MediaInfo | None = None
    location: LocationInfo | None = None
    contacts: tuple[ContactCard, ...] = ()
    reaction: ReactionInfo | None = None
    poll: PollInfo | None = None
    protocol: ProtocolInfo | None = None
    """Edit/revoke info when a protocol message arrives as an upsert (1.x, or wrapped)."""
    quoted: QuotedInfo | None = None
    mentions: tuple[str, ...] = ()
    message_timestamp: datetime | None = None
    instance_id: str | None = None
    owner: str | None = None
    """1.x sends the instance name as `owner` instead of `instanceId`."""
    source: str | None = None
    speech_to_text: str | None = None
    chatwoot_message_id: int | None = None
    chatwoot_inbox_id: int | None = None
    chatwoot_conversation_id: int | None = None
    message_context: dict[str, Any] | None = None
    """`message.messageContextInfo`: the crypto context (device list, message secret)."""
    context_info: dict[str, Any] | None = None
    raw: dict[str, Any]

    @property
    def is_ephemeral(self) -> bool:
        """True when the content came wrapped in `ephemeralMessage` (disappearing messages)."""
        return "ephemeralMessage" in self.wrappers

    @property
    def is_view_once(self) -> bool:
        """True when the content came wrapped in a view-once container."""
        return any(wrapper.startswith("viewOnce") for wrapper in self.wrappers)

    @property
    def preview(self) -> str:
        """Short text for conversation lists: body, caption, emoji or a `[type]` placeholder."""
        if self.body or self.caption:
            return self.body or self.caption or ""
        if self.reaction is not None and self.reaction.emoji:
            return self.reaction.emoji
        return f"[{self.message_type}]"


def _quoted(contexts: list[dict[str, Any]]) -> QuotedInfo | None:
    for context in contexts:
        stanza_id = as_text(context.get("stanzaId"))
        if stanza_id is None:
            continue
        quoted = parse_message_content(context.get("quotedMessage"))
        return QuotedInfo(
            stanza_id=stanza_id,
            participant=bare_jid(context.get("participant")),
            remote_jid=bare_jid(context.get("remoteJid")),
            text=quoted.display_text,
            kind=quoted.kind if quoted.kind != "unknown" else None,
        )
    return None


def _mentions(contexts: list[dict[str, Any]]) -> tuple[str, ...]:
    for context in contexts:
        jids = tuple(
            jid for jid in map(bare_jid, as_list(context.get("mentionedJid")) or ()) if jid
        )
        if jids:
            return jids
    return ()


def _chat(key: dict[str, Any], path: str) -> PeerIdentity:
    chat = resolve_key_chat(key)
    if chat is None:
        raise MalformedPayload("expected a JID string", path=f"{path}.remoteJid")
    return chat


def _normalize_message(
    data: object, origin: Literal["messages.upsert", "send.message"]
) -> NormalizedMessage:
    record = require_dict(data, "data")
    key = require_dict(record.get("key"), "data.key")
    key_id = require_text(key.get("id"), "data.key.id")
    chat = _chat(key, "data.key")
    sender = resolve_key_sender(key) if chat.kind not in ("pn", "lid") else None
    from_me = as_bool(key.get("fromMe")) is True
    push_name = as_text(record.get("pushName"))
    if from_me and push_name == _OWN_PUSH_NAME:
        push_name = None
    message = as_dict(record.get("message")) or {}
    raw_type = as_text(record.get("messageType"))
    content: MessageContent = parse_message_content(message, type_hint=raw_type)
    top_context = as_dict(record.get("contextInfo"))
    # 2.x moves the content's contextInfo to the top level; 1.x keeps it in the content.
    contexts = [context for context in (top_context, content.context_info) if context]
    return NormalizedMessage(
        origin_event=origin,
        key_id=key_id,
        remote_jid=chat.jid,
        remote_phone_jid=chat.phone_jid,
        remote_lid=chat.lid,
        key_remote_jid=require_text(key.get("remoteJid"), "data.key.remoteJid"),
        chat_kind=chat.kind,
        is_group=chat.kind == "group",
        sender_jid=sender.jid if sender else None,
        sender_phone_jid=sender.phone_jid if sender else None,
        sender_lid=sender.lid if sender else None,
        from_me=from_me,
        push_name=push_name,
        status=parse_status(record.get("status")),
        addressing_mode=as_text(key.get("addressingMode")),
        message_type=content.kind,
        raw_message_type=raw_type,
        content_key=content.content_key,
        wrappers=content.wrappers,
        body=content.text,
        caption=content.caption,
        media=content.media,
        location=content.location,
        contacts=content.contacts,
        reaction=content.reaction,
        poll=content.poll,
        protocol=content.protocol,
        quoted=_quoted(contexts),
        mentions=_mentions(contexts),
        message_timestamp=parse_timestamp(record.get("messageTimestamp")),
        instance_id=as_text(record.get("instanceId")),
        owner=as_text(record.get("owner")),
        source=as_text(record.get("source")),
        speech_to_text=as_text(message.get("speechToText")),
        chatwoot_message_id=parse_int(record.get("chatwootMessageId")),
        chatwoot_inbox_id=parse_int(record.get("chatwootInboxId")),
        chatwoot_conversation_id=parse_int(record.get("chatwootConversationId")),
        message_context=as_dict(message.get("messageContextInfo")),
        context_info=top_context or content.context_info,
        raw=record,
    )


def normalize_messages_upsert(data: object) -> NormalizedMessage:
    """Normalize `messages.upsert` data (inbound messages and our own from other devices)."""
    return _normalize_message(data, "messages.upsert")


def normalize_send_message(data: object) -> NormalizedMessage:
    """Normalize `send.message` data (sent through the REST API; same shape as upsert, §2.2)."""
    return _normalize_message(data, "send.message")


class NormalizedStatusUpdate(NormalizedModel):
    """One delivery/read receipt from `messages.update`."""

    key_id: str
    """The WhatsApp id (`keyId` in 2.x, `id` in 1.x), never Evolution's `messageId`."""
    remote_jid: str | None = None
    remote_phone_jid: str | None = None
    remote_lid: str | None = None
    from_me: bool | None = None
    participant: str | None = None
    participant_lid: str | None = None
    status: MessageStatus | None = None
    raw_status: str | None = None
    is_fallback_status: bool = False
    """True when the gateway had no real status: missing (#1380) or DELETED (<= 2.3.6 fallback
    for status-less updates such as edits, #2010). Never treat it as a deletion."""
    timestamp: datetime | None = None
    db_message_id: str | None = None
    """Evolution's own database id (`messageId`); not a WhatsApp id (§2.3, §6.6)."""
    instance_id: str | None = None
    owner: str | None = None
    edited_text: str | None = None
    """2.3.7 attaches the edited content as `message`."""
    error_detail: tuple[str, ...] = ()
    raw: dict[str, Any]


def _key_fields(key: dict[str, Any], participant: PeerIdentity | None) -> dict[str, Any]:
    """The fields receipts and deletes share, read from a message key (§2.3, §2.4).

    `remote_jid`, `remote_phone_jid`, `remote_lid`, `from_me`, `participant`: None where unusable.
    """
    chat = resolve_key_chat(key)
    return {
        "remote_jid": chat.jid if chat else None,
        "remote_phone_jid": chat.phone_jid if chat else None,
        "remote_lid": chat.lid if chat else None,
        "from_me": as_bool(key.get("fromMe")),
        "participant": participant.jid if participant else None,
    }


def _status_update(item: object, path: str) -> NormalizedStatusUpdate:
    record = require_dict(item, path)
    # Baileys' own `{key, update}` shape is accepted too; Evolution 2.x flattens it (§2.3).
    key = as_dict(record.get("key")) or record
    update = as_dict(record.get("update")) or record
    key_id = first_text(record.get("keyId"), key.get("id"))
    if key_id is None:
        raise MalformedPayload("no keyId (2.x) or id (1.x)", path=path)
    participant = resolve_key_sender(key)
    raw_status_value = update.get("status")
    status = parse_status(raw_status_value)
    edited = as_dict(update.get("message"))
    stub = as_list(update.get("messageStubParameters")) or ()
    return NormalizedStatusUpdate(
        key_id=key_id,
        **_key_fields(key, participant),
        participant_lid=participant.lid if participant else None,
        status=status,
        raw_status=None if raw_status_value is None else str(raw_status_value)[:64],
        is_fallback_status=status is None or status == "DELETED",
        timestamp=parse_timestamp(record.get("datetime")),
        db_message_id=as_text(record.get("messageId")),
        instance_id=as_text(record.get("instanceId")),
        owner=as_text(record.get("owner")),
        edited_text=parse_message_content(edited).display_text if edited else None,
        error_detail=tuple(str(part)[:200] for part in stub if isinstance(part, str | int)),
        raw=record,
    )


def normalize_messages_update(data: object) -> list[NormalizedStatusUpdate]:
    """Normalize `messages.update` data (a flat object in 2.x; an array is accepted too)."""
    return parse_each(data, _status_update)


class NormalizedDelete(NormalizedModel):
    """A message deleted for everyone (`messages.delete`)."""

    key_id: str
    remote_jid: str | None = None
    remote_phone_jid: str | None = None
    remote_lid: str | None = None
    from_me: bool | None = None
    participant: str | None = None
    via_api: bool
    """True when the delete was made through REST (data is the stored message, §2.4)."""
    db_message_id: str | None = None
    instance_id: str | None = None
    raw: dict[str, Any]


def normalize_messages_delete(data: object) -> NormalizedDelete:
    """Normalize `messages.delete` data: a bare key (WhatsApp revoke) or a stored message (REST)."""
    record = require_dict(data, "data")
    stored_key = as_dict(record.get("key"))
    key = stored_key if stored_key is not None else record
    path = "data.key" if stored_key is not None else "data"
    key_id = require_text(key.get("id"), f"{path}.id")
    participant = resolve_key_sender(key)
    if participant is None and stored_key is not None:
        participant = resolve_key_sender({**key, "participant": record.get("participant")})
    return NormalizedDelete(
        key_id=key_id,
        **_key_fields(key, participant),
        via_api=stored_key is not None,
        db_message_id=as_text(record.get("id")) if stored_key is not None else None,
        instance_id=as_text(record.get("instanceId")),
        raw=record,
    )


class NormalizedEdit(NormalizedModel):
    """An edit, revoke or other protocol message from `messages.edited` / `send.message.update`."""

    origin_event: Literal["messages.edited", "send.message.update"]
    key_id: str
    """The ORIGINAL message's id: the only safe correlation (#1367, #1647)."""
    kind: ProtocolKind
    protocol_type: str
    new_text: str | None = None
    new_kind: MessageKind | None = None
    new_content: MessageContent | None = None
    edited_at: datetime | None = None
    editor_remote_jid: str | None = None
    """From the editor's point of view (your own number when the contact edits): audit only."""
    editor_from_me: bool | None = None
    raw: dict[str, Any]


def _find_protocol(record: dict[str, Any]) -> dict[str, Any]:
    """Locate the protocolMessage: `data` itself (§2.6) or inside a full message if wrapped."""
    direct = as_dict(record.get("protocolMessage"))
    if direct is not None:
        return direct
    message = as_dict(record.get("message"))
    if message is not None:
        inner, _ = unwrap_message(message)
        nested = as_dict(inner.get("protocolMessage"))
        if nested is not None:
            return nested
    return record


def _normalize_edit(
    data: object, origin: Literal["messages.edited", "send.message.update"]
) -> NormalizedEdit:
    record = require_dict(data, "data")
    protocol_raw = _find_protocol(record)
    key = require_dict(protocol_raw.get("key"), "data.key")
    key_id = require_text(key.get("id"), "data.key.id")
    protocol = protocol_from_dict(protocol_raw)
    edited_raw = as_dict(protocol_raw.get("editedMessage"))
    return NormalizedEdit(
        origin_event=origin,
        key_id=key_id,
        kind=protocol.kind,
        protocol_type=protocol.protocol_type,
        new_text=protocol.new_text,
        new_kind=protocol.new_kind,
        new_content=parse_message_content(edited_raw) if edited_raw is not None else None,
        edited_at=protocol.edited_at,
        editor_remote_jid=bare_jid(key.get("remoteJid")),
        editor_from_me=as_bool(key.get("fromMe")),
        raw=record,
    )


def normalize_messages_edited(data: object) -> NormalizedEdit:
    """Normalize `messages.edited` data: any incoming protocolMessage, edits and revokes (§2.6)."""
    return _normalize_edit(data, "messages.edited")


def normalize_send_message_update(data: object) -> NormalizedEdit:
    """Normalize `send.message.update` data: edits made through REST `/chat/updateMessage`."""
    return _normalize_edit(data, "send.message.update")
