"""WhatsApp message content (`data.message`): wrappers unwrapped, every supported type read.

Unknown or unreadable content is never an error: it becomes kind `unknown` and the caller keeps
the raw payload, so an event is never lost because WhatsApp added a message type.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any, Final, Literal

from zapcrm.evolution.payloads._base import Base64Bytes, NormalizedModel
from zapcrm.evolution.payloads._values import (
    as_bool,
    as_dict,
    as_list,
    as_text,
    first_text,
    parse_bytes,
    parse_float,
    parse_int,
    parse_timestamp,
)

MessageKind = Literal[
    "text",
    "image",
    "video",
    "audio",
    "document",
    "sticker",
    "location",
    "live_location",
    "contact",
    "contacts",
    "reaction",
    "poll",
    "protocol",
    "unknown",
]

ProtocolKind = Literal["edit", "revoke", "other"]

# Containers whose real content sits at `<wrapper>.message` (all `FutureProofMessage` in WAProto).
# Evolution 2.x does not unwrap ephemeral/view-once (§2.1: `messageType` is the wrapper name);
# `documentWithCaptionMessage` is flattened only since 2.1; `editedMessage` carries protocol
# messages (§2.6); `deviceSentMessage` wraps what our other devices sent.
WRAPPER_KEYS: Final[tuple[str, ...]] = (
    "ephemeralMessage",
    "viewOnceMessage",
    "viewOnceMessageV2",
    "viewOnceMessageV2Extension",
    "documentWithCaptionMessage",
    "editedMessage",
    "deviceSentMessage",
)

_MAX_DEPTH: Final = 8

# WAProto `ProtocolMessage.Type`; 2.3.6+ sends the number, <= 2.3.5 and `messages.edited` the name.
_PROTOCOL_TYPES: Final[dict[int, str]] = {
    0: "REVOKE",
    3: "EPHEMERAL_SETTING",
    5: "HISTORY_SYNC_NOTIFICATION",
    6: "APP_STATE_SYNC_KEY_SHARE",
    14: "MESSAGE_EDIT",
}


class MediaInfo(NormalizedModel):
    """Metadata of an image, video, audio, document or sticker; bytes fields decoded."""

    mimetype: str | None = None
    file_name: str | None = None
    title: str | None = None
    file_length: int | None = None
    seconds: int | None = None
    ptt: bool | None = None
    width: int | None = None
    height: int | None = None
    page_count: int | None = None
    is_animated: bool | None = None
    gif_playback: bool | None = None
    url: str | None = None
    direct_path: str | None = None
    media_key: Base64Bytes | None = None
    file_sha256: Base64Bytes | None = None
    file_enc_sha256: Base64Bytes | None = None
    media_key_timestamp: datetime | None = None
    base64: str | None = None
    """Raw base64 of the file, only with the webhook `base64` flag on (`message.base64`)."""
    media_url: str | None = None
    """Our-storage URL, only with S3/MinIO enabled (`message.mediaUrl`)."""


class LocationInfo(NormalizedModel):
    """A static or live location."""

    latitude: float | None = None
    longitude: float | None = None
    name: str | None = None
    address: str | None = None
    url: str | None = None
    caption: str | None = None
    is_live: bool = False


class ContactCard(NormalizedModel):
    """One shared contact (vCard)."""

    display_name: str | None = None
    vcard: str | None = None


class ReactionInfo(NormalizedModel):
    """A reaction to another message; an empty emoji removes the reaction (§2.1 Example F)."""

    target_key_id: str | None = None
    target_remote_jid: str | None = None
    target_from_me: bool | None = None
    """From the reactor's point of view of the original message."""
    target_participant: str | None = None
    emoji: str = ""
    is_removal: bool = True
    sent_at: datetime | None = None


class PollInfo(NormalizedModel):
    """A poll creation (`pollCreationMessage`, V2, V3)."""

    name: str | None = None
    options: tuple[str, ...] = ()
    selectable_count: int | None = None


class ProtocolInfo(NormalizedModel):
    """An edit, revoke or other protocol message; `target_key_id` is the ORIGINAL message id."""

    kind: ProtocolKind
    protocol_type: str
    target_key_id: str | None = None
    target_remote_jid: str | None = None
    """From the editor's point of view (#1367, #1647): never use it to find the chat."""
    target_from_me: bool | None = None
    """From the editor's point of view: inverted for edits made by the contact."""
    new_kind: MessageKind | None = None
    new_text: str | None = None
    edited_at: datetime | None = None


class MessageContent(NormalizedModel):
    """The content of one WhatsApp message after unwrapping."""

    kind: MessageKind = "unknown"
    content_key: str | None = None
    """The WhatsApp content key that was read (`imageMessage`, ...) or the first unknown one."""
    wrappers: tuple[str, ...] = ()
    text: str | None = None
    caption: str | None = None
    media: MediaInfo | None = None
    location: LocationInfo | None = None
    contacts: tuple[ContactCard, ...] = ()
    reaction: ReactionInfo | None = None
    poll: PollInfo | None = None
    protocol: ProtocolInfo | None = None
    context_info: dict[str, Any] | None = None
    """The content's own `contextInfo` (1.x keeps replies/mentions here, 2.x at top level)."""

    @property
    def display_text(self) -> str | None:
        """The human-readable text: message text, else caption."""
        return self.text or self.caption


_Parsed = dict[str, Any]
_Parser = Callable[[dict[str, Any], int], _Parsed]


def _text(value: dict[str, Any], _depth: int) -> _Parsed:
    return {"kind": "text", "text": as_text(value.get("text"))}


def _media_fields(value: dict[str, Any]) -> dict[str, Any]:
    return {
        "mimetype": as_text(value.get("mimetype")),
        "file_length": parse_int(value.get("fileLength")),
        "width": parse_int(value.get("width")),
        "height": parse_int(value.get("height")),
        "url": as_text(value.get("url")),
        "direct_path": as_text(value.get("directPath")),
        "media_key": parse_bytes(value.get("mediaKey")),
        "file_sha256": parse_bytes(value.get("fileSha256")),
        "file_enc_sha256": parse_bytes(value.get("fileEncSha256")),
        "media_key_timestamp": parse_timestamp(value.get("mediaKeyTimestamp")),
    }


def _media_parser(kind: MessageKind, **extra: tuple[str, Callable[[object], Any]]) -> _Parser:
    """Build a parser for a media content type with its type-specific extra fields."""

    def parse(value: dict[str, Any], _depth: int) -> _Parsed:
        fields = _media_fields(value)
        for field, (source, reader) in extra.items():
            fields[field] = reader(value.get(source))
        return {"kind": kind, "caption": as_text(value.get("caption")), "media": fields}

    return parse


def _location(value: dict[str, Any], _depth: int, *, is_live: bool = False) -> _Parsed:
    location = LocationInfo(
        latitude=parse_float(value.get("degreesLatitude")),
        longitude=parse_float(value.get("degreesLongitude")),
        name=as_text(value.get("name")),
        address=as_text(value.get("address")),
        url=as_text(value.get("url")),
        caption=first_text(value.get("caption"), value.get("comment")),
        is_live=is_live,
    )
    return {"kind": "live_location" if is_live else "location", "location": location}


def _live_location(value: dict[str, Any], depth: int) -> _Parsed:
    return _location(value, depth, is_live=True)


def _card(value: dict[str, Any]) -> ContactCard:
    return ContactCard(
        display_name=as_text(value.get("displayName")), vcard=as_text(value.get("vcard"))
    )


def _contact(value: dict[str, Any], _depth: int) -> _Parsed:
    return {"kind": "contact", "contacts": (_card(value),)}


def _contacts(value: dict[str, Any], _depth: int) -> _Parsed:
    cards = tuple(
        _card(item) for item in as_list(value.get("contacts")) or () if isinstance(item, dict)
    )
    return {"kind": "contacts", "contacts": cards}


def _reaction(value: dict[str, Any], _depth: int) -> _Parsed:
    key = as_dict(value.get("key")) or {}
    emoji = value.get("text") if isinstance(value.get("text"), str) else ""
    reaction = ReactionInfo(
        target_key_id=as_text(key.get("id")),
        target_remote_jid=as_text(key.get("remoteJid")),
        target_from_me=as_bool(key.get("fromMe")),
        target_participant=as_text(key.get("participant")),
        emoji=emoji,
        is_removal=emoji == "",
        sent_at=parse_timestamp(value.get("senderTimestampMs")),
    )
    return {"kind": "reaction", "reaction": reaction}


def _poll(value: dict[str, Any], _depth: int) -> _Parsed:
    options: list[str] = []
    for option in as_list(value.get("options")) or ():
        name = as_text(option.get("optionName")) if isinstance(option, dict) else as_text(option)
        if name is not None:
            options.append(name)
    poll = PollInfo(
        name=as_text(value.get("name")),
        options=tuple(options),
        selectable_count=parse_int(value.get("selectableOptionsCount")),
    )
    return {"kind": "poll", "poll": poll}


def protocol_type_name(value: object, *, has_edited_message: bool = False) -> str:
    """Name a protocol message type given as a number, numeric string, Long or name."""
    number = parse_int(value)
    if number is not None:
        return _PROTOCOL_TYPES.get(number, f"TYPE_{number}")
    text = as_text(value)
    if text is not None:
        return text.strip().upper()
    # A missing type is ambiguous (protobuf omits defaults); only an attached edit is certain.
    # Guessing REVOKE here could delete a message that was never revoked.
    return "MESSAGE_EDIT" if has_edited_message else "UNKNOWN"


def parse_protocol(value: object) -> ProtocolInfo | None:
    """Read a `protocolMessage` (edit, revoke, other); None when it is not an object."""
    protocol = as_dict(value)
    return protocol_from_dict(protocol) if protocol is not None else None


def protocol_from_dict(protocol: dict[str, Any], *, _depth: int = 0) -> ProtocolInfo:
    """Read a `protocolMessage` object into `ProtocolInfo`."""
    edited_raw = as_dict(protocol.get("editedMessage"))
    edited = (
        parse_message_content(edited_raw, _depth=_depth + 1) if edited_raw is not None else None
    )
    protocol_type = protocol_type_name(protocol.get("type"), has_edited_message=edited is not None)
    kind: ProtocolKind = (
        "edit"
        if protocol_type == "MESSAGE_EDIT"
        else "revoke"
        if protocol_type == "REVOKE"
        else "other"
    )
    key = as_dict(protocol.get("key")) or {}
    return ProtocolInfo(
        kind=kind,
        protocol_type=protocol_type,
        target_key_id=as_text(key.get("id")),
        target_remote_jid=as_text(key.get("remoteJid")),
        target_from_me=as_bool(key.get("fromMe")),
        new_kind=edited.kind if edited is not None else None,
        new_text=edited.display_text if edited is not None else None,
        edited_at=parse_timestamp(protocol.get("timestampMs")),
    )


def _protocol(value: dict[str, Any], depth: int) -> _Parsed:
    return {"kind": "protocol", "protocol": protocol_from_dict(value, _depth=depth)}


_PARSERS: Final[dict[str, _Parser]] = {
    "extendedTextMessage": _text,
    "imageMessage": _media_parser("image"),
    "videoMessage": _media_parser(
        "video", seconds=("seconds", parse_int), gif_playback=("gifPlayback", as_bool)
    ),
    "ptvMessage": _media_parser("video", seconds=("seconds", parse_int)),
    "audioMessage": _media_parser("audio", seconds=("seconds", parse_int), ptt=("ptt", as_bool)),
    "documentMessage": _media_parser(
        "document",
        file_name=("fileName", as_text),
        title=("title", as_text),
        page_count=("pageCount", parse_int),
    ),
    "stickerMessage": _media_parser("sticker", is_animated=("isAnimated", as_bool)),
    "locationMessage": _location,
    "liveLocationMessage": _live_location,
    "contactMessage": _contact,
    "contactsArrayMessage": _contacts,
    "reactionMessage": _reaction,
    "pollCreationMessage": _poll,
    "pollCreationMessageV2": _poll,
    "pollCreationMessageV3": _poll,
    "protocolMessage": _protocol,
}

# Keys that sit next to the content but are not content (§2.1 table).
_NOT_CONTENT: Final[frozenset[str]] = frozenset(
    {"messageContextInfo", "base64", "mediaUrl", "speechToText", "contextInfo"}
)


def unwrap_message(message: dict[str, Any]) -> tuple[dict[str, Any], tuple[str, ...]]:
    """Descend through wrapper containers until real content is reached."""
    wrappers: list[str] = []
    current = message
    for _ in range(_MAX_DEPTH):
        if "conversation" in current or any(key in current for key in _PARSERS):
            break
        for wrapper in WRAPPER_KEYS:
            inner = as_dict((as_dict(current.get(wrapper)) or {}).get("message"))
            if inner is not None:
                wrappers.append(wrapper)
                current = inner
                break
        else:
            break
    return current, tuple(wrappers)


def _conversation(text: str, wrappers: tuple[str, ...]) -> MessageContent:
    """Text sent as `conversation`, the one content key whose value is the text itself."""
    return MessageContent(kind="text", content_key="conversation", wrappers=wrappers, text=text)


def parse_message_content(
    message: object, *, type_hint: object = None, _depth: int = 0
) -> MessageContent:
    """Parse `data.message` into `MessageContent`; unknown shapes give kind `unknown`, never raise.

    `type_hint` is `data.messageType`; it only breaks ties when several content keys exist.
    """
    root = as_dict(message)
    if root is None or _depth > _MAX_DEPTH:
        return MessageContent()
    inner, wrappers = unwrap_message(root)
    conversation = as_text(inner.get("conversation"))
    hint = (
        type_hint
        if isinstance(type_hint, str) and type_hint in _PARSERS and type_hint in inner
        else None
    )
    if conversation is not None and hint is None:
        # 2.1+ rewrites extendedTextMessage into `conversation` (§2.1), so this is the common case.
        return _conversation(conversation, wrappers)
    candidates = ([hint] if hint is not None else []) + [key for key in _PARSERS if key != hint]
    for key in candidates:
        value = as_dict(inner.get(key))
        if value is None:
            continue
        fields = _PARSERS[key](value, _depth)
        media = fields.pop("media", None)
        if media is not None:
            fields["media"] = MediaInfo(
                **media,
                base64=first_text(root.get("base64"), inner.get("base64")),
                media_url=first_text(root.get("mediaUrl"), inner.get("mediaUrl")),
            )
        return MessageContent(
            content_key=key,
            wrappers=wrappers,
            context_info=as_dict(value.get("contextInfo")),
            **fields,
        )
    if conversation is not None:
        return _conversation(conversation, wrappers)
    unknown_key = next(
        (key for key in inner if isinstance(key, str) and key not in _NOT_CONTENT), None
    )
    return MessageContent(content_key=unknown_key, wrappers=wrappers)
