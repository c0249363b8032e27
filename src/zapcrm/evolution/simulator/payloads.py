"""Builders of the message data Evolution 2.3.6 emits and returns (§2.1–§2.6, §3.11).

Builders produce trees with `Long`/`Bytes` markers; `encoding.encode` renders them per version.
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass
from typing import Any

from zapcrm.evolution.simulator import media
from zapcrm.evolution.simulator.encoding import Bytes, Long
from zapcrm.evolution.simulator.faults import Addressing

__all__ = [
    "MediaFile",
    "audio_message",
    "document_message",
    "edit_data",
    "image_message",
    "inbound_key",
    "location_message",
    "message_context_info",
    "message_raw",
    "normalise",
    "reaction_message",
    "revoke_data",
    "send_context_info",
    "status_update",
    "video_message",
]

_MEDIA_PATHS = {
    "imageMessage": "t62.7118-24",
    "videoMessage": "t62.7161-24",
    "audioMessage": "t62.7117-24",
    "documentMessage": "t62.7119-24",
}
# Keys of a Baileys message that are not its content.
_NOT_CONTENT = frozenset({"messageContextInfo", "base64", "mediaUrl", "speechToText"})


@dataclass(frozen=True)
class MediaFile:
    """Bytes of a media message and what describes them."""

    data: bytes
    mimetype: str
    file_name: str | None = None
    caption: str | None = None


def _media_location(kind: str, rng: random.Random, timestamp: int) -> tuple[str, str]:
    path = _MEDIA_PATHS[kind]
    first, second = rng.randrange(10**16, 10**17), rng.randrange(10**15, 10**16)
    direct = (
        f"/v/{path}/{first}_{second}_n.enc?ccb=11-4&oh=01_Q5Aa{rng.getrandbits(64):016x}"
        f"&oe={timestamp + 30 * 86400:X}&_nc_sid=5e03e0"
    )
    return f"https://mmg.whatsapp.net{direct}&mms3=true", direct


def _hashes(data: bytes, rng: random.Random) -> tuple[Bytes, Bytes, Bytes]:
    """(fileSha256, mediaKey, fileEncSha256) for a file."""
    return Bytes(hashlib.sha256(data).digest()), Bytes(rng.randbytes(32)), Bytes(rng.randbytes(32))


def image_message(
    file: MediaFile, rng: random.Random, timestamp: int, context_info: dict[str, Any] | None
) -> dict[str, Any]:
    """An `imageMessage` with the field order of a real 2.3.6 payload (§2.1 example C)."""
    width, height = media.image_size(file.data)
    return _visual_message(
        "imageMessage", file, rng, timestamp, context_info, {"height": height, "width": width}
    )


def video_message(
    file: MediaFile, rng: random.Random, timestamp: int, context_info: dict[str, Any] | None
) -> dict[str, Any]:
    """A `videoMessage` as a media send produces it."""
    seconds = max(1, len(file.data) // 50000)
    return _visual_message("videoMessage", file, rng, timestamp, context_info, {"seconds": seconds})


def _visual_message(
    kind: str,
    file: MediaFile,
    rng: random.Random,
    timestamp: int,
    context_info: dict[str, Any] | None,
    dimensions: dict[str, int],
) -> dict[str, Any]:
    # Images and videos differ only in what follows fileLength (size or duration).
    url, direct = _media_location(kind, rng, timestamp)
    sha, key, enc = _hashes(file.data, rng)
    content: dict[str, Any] = {"url": url, "mimetype": file.mimetype}
    if file.caption:
        content["caption"] = file.caption
    content |= {"fileSha256": sha, "fileLength": Long(len(file.data))}
    content |= dimensions
    content |= {
        "mediaKey": key,
        "fileEncSha256": enc,
        "directPath": direct,
        "mediaKeyTimestamp": Long(timestamp, unsigned=False),
        "jpegThumbnail": Bytes(media.jpeg(32, 24)),
        "contextInfo": context_info if context_info is not None else {},
    }
    return content


def audio_message(
    data: bytes, seconds: int, rng: random.Random, timestamp: int, *, ptt: bool = True
) -> dict[str, Any]:
    """An `audioMessage`; voice notes are Ogg/Opus with `ptt: true` (§2.1 example D, §3.4)."""
    url, direct = _media_location("audioMessage", rng, timestamp)
    sha, key, enc = _hashes(data, rng)
    return {
        "url": url,
        "mimetype": "audio/ogg; codecs=opus",
        "fileSha256": sha,
        "fileLength": Long(len(data)),
        "seconds": seconds,
        "ptt": ptt,
        "mediaKey": key,
        "fileEncSha256": enc,
        "directPath": direct,
        "mediaKeyTimestamp": Long(timestamp, unsigned=False),
        "waveform": Bytes(bytes(rng.randrange(0, 100) for _ in range(64))),
    }


def document_message(
    file: MediaFile, rng: random.Random, timestamp: int, context_info: dict[str, Any] | None = None
) -> dict[str, Any]:
    """A `documentMessage` (§2.1 example E)."""
    url, direct = _media_location("documentMessage", rng, timestamp)
    sha, key, enc = _hashes(file.data, rng)
    name = file.file_name or "document"
    content: dict[str, Any] = {
        "url": url,
        "mimetype": file.mimetype,
        "title": name,
        "fileSha256": sha,
        "fileLength": Long(len(file.data)),
    }
    if file.mimetype == "application/pdf":
        content["pageCount"] = max(1, file.data.count(b"/Type /Page "))
    content |= {
        "mediaKey": key,
        "fileName": name,
        "fileEncSha256": enc,
        "directPath": direct,
        "mediaKeyTimestamp": Long(timestamp, unsigned=False),
    }
    if file.caption:
        content["caption"] = file.caption
    if context_info is not None:
        content["contextInfo"] = context_info
    return content


def location_message(
    latitude: float, longitude: float, name: str | None, address: str | None
) -> dict[str, Any]:
    """A `locationMessage` pin."""
    content: dict[str, Any] = {"degreesLatitude": latitude, "degreesLongitude": longitude}
    if name:
        content["name"] = name
    if address:
        content["address"] = address
    content["jpegThumbnail"] = Bytes(media.jpeg(32, 32))
    return content


def reaction_message(target_key: dict[str, Any], emoji: str, timestamp_ms: int) -> dict[str, Any]:
    """A `reactionMessage`; an empty `text` removes the reaction (§2.1 example F)."""
    return {
        "key": target_key,
        "text": emoji,
        "senderTimestampMs": Long(timestamp_ms, unsigned=False),
    }


def message_context_info(rng: random.Random, timestamp: int) -> dict[str, Any]:
    """The `messageContextInfo` block a phone attaches to what it sends (§2.1 example A)."""
    return {
        "deviceListMetadata": {
            "senderKeyIndexes": [],
            "recipientKeyIndexes": [],
            "senderKeyHash": Bytes(rng.randbytes(10)),
            "senderTimestamp": Long(timestamp - rng.randrange(86400, 30 * 86400)),
            "recipientKeyHash": Bytes(rng.randbytes(10)),
            "recipientTimestamp": Long(timestamp - rng.randrange(3600, 86400)),
        },
        "deviceListMetadataVersion": 2,
        "messageSecret": Bytes(rng.randbytes(32)),
    }


def send_context_info(timestamp: int, quoted: dict[str, Any] | None = None) -> dict[str, Any]:
    """The `contextInfo` Evolution adds to every 1:1 API send (§3.11), plus a quote if any."""
    context: dict[str, Any] = dict(quoted) if quoted else {}
    context |= {
        "mentionedJid": [],
        "groupMentions": [],
        "ephemeralSettingTimestamp": Long(timestamp - 2 * 86400, unsigned=False),
        "disappearingMode": {"initiator": 0},
    }
    return context


def _content_type(message: dict[str, Any]) -> str:
    return next(key for key in message if key not in _NOT_CONTENT)


def _normalise_content(message: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any] | None]:
    rest = {key: value for key, value in message.items() if key in _NOT_CONTENT}
    if "documentWithCaptionMessage" in message:
        inner = message["documentWithCaptionMessage"]["message"]["documentMessage"]
        return {"documentMessage": inner, **rest}, inner.get("contextInfo")
    if "extendedTextMessage" in message:
        extended = message["extendedTextMessage"]
        context = extended.get("contextInfo")
        if context and "quotedMessage" in context:
            quoted, _ = _normalise_content(context["quotedMessage"])
            context = {**context, "quotedMessage": quoted}
        return {"conversation": extended["text"], **rest}, context
    content = message[_content_type(message)]
    context = content.get("contextInfo") if isinstance(content, dict) else None
    return dict(message), context


def normalise(
    message: dict[str, Any], *, v1: bool = False
) -> tuple[dict[str, Any], str, dict[str, Any] | None]:
    """Apply Evolution's `prepareMessage` rewrites; return (message, messageType, contextInfo).

    Since 2.1.0 `extendedTextMessage` becomes `conversation` and `documentWithCaptionMessage`
    is flattened (§2.1); 1.x kept both as they came.
    """
    if v1:
        return message, _content_type(message), None
    normalised, context = _normalise_content(message)
    return normalised, _content_type(normalised), context


def message_raw(
    *,
    key: dict[str, Any],
    push_name: str,
    status: str,
    message: dict[str, Any],
    context_info: dict[str, Any] | None,
    message_type: str,
    timestamp: int | Long,
    instance_id: str,
    source: str,
    v1_owner: str | None = None,
) -> dict[str, Any]:
    """Evolution's messageRaw: upsert data, send response and `send.message` data (§2.1, §3.11).

    With `v1_owner` set it takes the 1.8 shape: `owner` instead of `instanceId`, no `status`.
    """
    data: dict[str, Any] = {"key": key, "pushName": push_name}
    if v1_owner is None:
        data["status"] = status
    data["message"] = message
    if context_info is not None and v1_owner is None:
        data["contextInfo"] = context_info
    data["messageType"] = message_type
    data["messageTimestamp"] = timestamp
    if v1_owner is None:
        data["instanceId"] = instance_id
    else:
        data["owner"] = v1_owner
    data["source"] = source
    return data


def inbound_key(
    addressing: Addressing, *, phone_jid: str, lid_jid: str, key_id: str, from_me: bool = False
) -> dict[str, Any]:
    """The message key of a 1:1 message for an addressing mode (§2.0)."""
    if addressing in ("lid", "lid_no_alt"):
        key: dict[str, Any] = {"remoteJid": lid_jid}
        if addressing == "lid":
            key["remoteJidAlt"] = phone_jid
        mode = "lid"
    else:
        key = {"remoteJid": phone_jid}
        if addressing == "pn_alt":
            # In PN addressing the Alt field holds the LID, not the phone (§2.0 "Careful").
            key["remoteJidAlt"] = lid_jid
        mode = "pn"
    key |= {"fromMe": from_me, "id": key_id, "participant": "", "addressingMode": mode}
    return key


def status_update(
    *,
    key_id: str,
    remote_jid: str,
    from_me: bool,
    status: str,
    instance_id: str,
    db_id: str,
    participant: str | None = None,
    v1_owner: str | None = None,
    at_ms: int = 0,
) -> dict[str, Any]:
    """`messages.update` data: the flat 2.x object, or the 1.x shape with `owner` (§2.3)."""
    if v1_owner is not None:
        data: dict[str, Any] = {"remoteJid": remote_jid, "fromMe": from_me, "id": key_id}
        if participant:
            data["participant"] = participant
        return data | {"status": status, "datetime": at_ms, "owner": v1_owner}
    data = {"keyId": key_id, "remoteJid": remote_jid, "fromMe": from_me}
    if participant:
        # 2.3.6 copies key.participant, which only group receipts carry (§2.3).
        data["participant"] = participant
    return data | {"status": status, "instanceId": instance_id, "messageId": db_id}


def edit_data(own_jid: str, key_id: str, new_text: str, timestamp_ms: int) -> dict[str, Any]:
    """`messages.edited` data for an edit: the protocolMessage, key seen from the editor (§2.6)."""
    return {
        # The editor's own key: fromMe true, remoteJid = this instance's number (#1367, #1647).
        "key": {"remoteJid": own_jid, "fromMe": True, "id": key_id},
        # Strings, because this object bypasses the 2.3.6 deep copy (§2.6 [inferred]).
        "type": "MESSAGE_EDIT",
        "editedMessage": {"conversation": new_text},
        "timestampMs": str(timestamp_ms),
    }


def revoke_data(own_jid: str, key_id: str) -> dict[str, Any]:
    """`messages.edited` data for a revoke, which shares the protocolMessage route (§2.6)."""
    return {"key": {"remoteJid": own_jid, "fromMe": True, "id": key_id}, "type": "REVOKE"}
