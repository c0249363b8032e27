"""What happens when zapcrm calls `/message/send*`: the response, the acks that follow, errors."""

from __future__ import annotations

import base64
import binascii
import mimetypes
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse

import httpx

from zapcrm.evolution.simulator import media, payloads
from zapcrm.evolution.simulator.encoding import Long, encode
from zapcrm.evolution.simulator.errors import (
    bad_request,
    internal_error,
    validate,
)
from zapcrm.evolution.simulator.faults import Faults
from zapcrm.evolution.simulator.numbers import is_group
from zapcrm.evolution.simulator.schemas import SEND_SCHEMAS
from zapcrm.evolution.simulator.state import (
    Customer,
    Instance,
    SentRecord,
    StoredMessage,
)

if TYPE_CHECKING:
    from zapcrm.evolution.simulator.simulator import Simulator

__all__ = ["long_object", "send"]

_BASE64 = re.compile(r"^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$")
# What ffmpeg reads: ogg, mp3, wav, flac, AAC (ADTS), webm/matroska (browser recordings).
_AUDIO_MAGIC = (
    b"OggS", b"ID3", b"RIFF", b"fLaC", b"\xff\xfb", b"\xff\xf3", b"\xff\xf1", b"\x1a\x45\xdf\xa3",
)  # fmt: skip
_JOINERS = {0x200D, 0xFE0E, 0xFE0F, 0x20E3}


def _is_url(value: str) -> bool:
    parsed = urlparse(value)
    return parsed.scheme in ("http", "https") and bool(parsed.netloc)


def _is_base64(value: str) -> bool:
    return bool(value) and _BASE64.match(value) is not None


def _single_emoji(text: str) -> bool:
    """One emoji (ZWJ sequences, skin tones and flags included) or the empty string."""
    if text == "":
        return True
    units, after_joiner, regional = 0, False, 0
    for char in text:
        code = ord(char)
        if code in _JOINERS or 0x1F3FB <= code <= 0x1F3FF or 0xE0020 <= code <= 0xE007F:
            after_joiner = code == 0x200D
            continue
        if code < 0x2000 and char not in "#*0123456789":
            return False
        if 0x1F1E6 <= code <= 0x1F1FF:
            regional += 1
            if regional % 2 == 0:
                continue
        if not after_joiner:
            units += 1
        after_joiner = False
    return units == 1


@dataclass
class _Media:
    file: payloads.MediaFile
    kind: str  # image | video | document | audio | ptt


async def _download(sim: Simulator, url: str) -> tuple[bytes, str | None]:
    if not sim.config.fetch_media_urls:
        return media.jpeg(), None
    try:
        async with httpx.AsyncClient(trust_env=False, follow_redirects=True) as client:
            response = await client.get(url, timeout=10.0)
            response.raise_for_status()
    except httpx.HTTPStatusError as error:
        # Media download failures surface as 500 from sendMedia/sendWhatsAppAudio (§3.1).
        code = error.response.status_code
        raise internal_error([f"AxiosError: Request failed with status code {code}"]) from None
    except httpx.HTTPError as error:
        raise internal_error([f"AxiosError: {type(error).__name__}"]) from None
    content_type = response.headers.get("content-type", "").split(";")[0] or None
    return response.content, content_type


async def _resolve_media(
    sim: Simulator, value: str | None, file: bytes | None
) -> tuple[bytes, str | None, str | None]:
    """(bytes, content type, file name from the URL) of a `media`/`audio` value or upload."""
    if file is not None:
        return file, None, None
    if value is None or not (_is_url(value) or _is_base64(value)):
        # A `data:…;base64,` prefix fails both checks (§3.3).
        raise bad_request("Owned media must be a url or base64")
    if _is_url(value):
        data, content_type = await _download(sim, value)
        return data, content_type, urlparse(value).path.rsplit("/", 1)[-1] or None
    try:
        return base64.b64decode(value, validate=True), None, None
    except binascii.Error:
        raise bad_request("Owned media must be a url or base64") from None


async def _prepare_media(sim: Simulator, body: dict[str, Any], file: bytes | None) -> _Media:
    mediatype = body["mediatype"]
    value = body.get("media")
    is_base64 = file is None and value is not None and _is_base64(value) and not _is_url(value)
    if is_base64 and mediatype == "document" and not body.get("fileName"):
        raise bad_request("For base64 the file name must be informed.")
    data, content_type, url_name = await _resolve_media(sim, value, file)
    file_name = body.get("fileName") or url_name
    if mediatype == "image":
        mimetype = "image/jpeg"  # images are re-encoded to JPEG (§3.3)
    else:
        guessed = mimetypes.guess_type(file_name)[0] if file_name else None
        defaults = {"video": "video/mp4", "audio": "audio/mpeg", "document": "application/pdf"}
        mimetype = body.get("mimetype") or guessed or content_type or defaults[mediatype]
    caption = body.get("caption") or None
    return _Media(payloads.MediaFile(data, mimetype, file_name, caption), mediatype)


async def _prepare_audio(sim: Simulator, body: dict[str, Any], file: bytes | None) -> _Media:
    data, _, _ = await _resolve_media(sim, body.get("audio"), file)
    is_mp4 = data[4:8] == b"ftyp"  # m4a from Safari's recorder: the box type sits at offset 4
    if body.get("encoding", True) and not (data.startswith(_AUDIO_MAGIC) or is_mp4):
        # ffmpeg cannot read what is not audio (§3.4).
        raise internal_error(["Failed to convert audio"])
    return _Media(payloads.MediaFile(data, "audio/ogg; codecs=opus"), "ptt")


def _quote(
    sim: Simulator, instance: Instance, quoted: dict[str, Any] | None
) -> dict[str, Any] | None:
    """The reply context; silently dropped when the quoted message is unknown (§3.2)."""
    if not quoted:
        return None
    key = quoted["key"]
    message = quoted.get("message")
    stored = instance.messages.get(key["id"])
    if message is None:
        if stored is None:
            return None
        message = {k: v for k, v in stored.message.items() if k != "messageContextInfo"}
    if stored is not None:
        key = stored.key | {k: v for k, v in key.items() if v not in (None, "")}
    from_me = bool(key.get("fromMe"))
    participant = instance.wuid if from_me else key.get("participant") or key.get("remoteJid", "")
    return {"stanzaId": key["id"], "participant": participant, "quotedMessage": message}


def _content(
    sim: Simulator,
    instance: Instance,
    endpoint: str,
    body: dict[str, Any],
    item: _Media | None,
    ts: int,
) -> dict[str, Any]:
    if endpoint == "sendReaction":
        return {
            "reactionMessage": payloads.reaction_message(body["key"], body["reaction"], ts * 1000)
        }
    context = payloads.send_context_info(ts, _quote(sim, instance, body.get("quoted")))
    if endpoint == "sendText":
        # Baileys sends extendedTextMessage; prepareMessage turns it into conversation (§2.1).
        return {"extendedTextMessage": {"text": body["text"], "contextInfo": context}}
    assert item is not None
    rng, file = sim.rng, item.file
    if item.kind == "ptt":
        content = payloads.audio_message(file.data, media.audio_seconds(file.data), rng, ts)
        return {"audioMessage": content | {"contextInfo": context}}
    if item.kind == "audio":
        seconds = media.audio_seconds(file.data)
        content = payloads.audio_message(file.data, seconds, rng, ts, ptt=False)
        return {"audioMessage": content | {"mimetype": file.mimetype, "contextInfo": context}}
    if item.kind == "image":
        return {"imageMessage": payloads.image_message(file, rng, ts, context)}
    if item.kind == "video":
        return {"videoMessage": payloads.video_message(file, rng, ts, context)}
    return {"documentMessage": payloads.document_message(file, rng, ts, context)}


def _statuses(endpoint: str, customer: Customer | None, ptt: bool) -> list[str]:
    if customer is None or not customer.on_whatsapp or endpoint == "sendReaction":
        return ["SERVER_ACK"]  # nobody's phone acknowledges: one grey tick only
    statuses = ["SERVER_ACK", "DELIVERY_ACK"]
    if customer.read_receipts:
        statuses.append("READ")
    if ptt:
        statuses.append("PLAYED")  # played receipts are sent even with read receipts off
    return statuses


def long_object(value: int) -> dict[str, Any]:
    """A protobuf Long rendered as an object whatever the bytes style (§6.3)."""
    rendered = encode(Long(value), binary_objects=True)
    assert isinstance(rendered, dict)
    return rendered


def _loggable(value: Any) -> Any:
    """The request as received, with long media strings shortened for the sent log."""
    if isinstance(value, dict):
        return {key: _loggable(item) for key, item in value.items()}
    if isinstance(value, str) and len(value) > 256:
        return f"{value[:64]}…({len(value)} chars)"
    return value


def _injected(faults: Faults) -> Exception:
    return internal_error(
        "Cannot read properties of undefined (reading 'sendMessage')", faults.rest_error_status
    )


async def send(
    sim: Simulator, instance: Instance, endpoint: str, body: Any, file: bytes | None = None
) -> dict[str, Any]:
    """Validate, "send" and schedule `send.message` plus the acks of one message."""
    validate(body, SEND_SCHEMAS[endpoint])
    faults = sim.faults_for(instance)
    fail_after = False
    if faults.rest_error_rate > 0 and sim.fault_rng.random() < faults.rest_error_rate:
        if not faults.rest_error_after_send:
            raise _injected(faults)
        fail_after = True
    if endpoint == "sendReaction" and not _single_emoji(body["reaction"]):
        raise bad_request("Reaction must be a single emoji or empty string")
    item: _Media | None = None
    if endpoint == "sendMedia":
        item = await _prepare_media(sim, body, file)
    elif endpoint == "sendWhatsAppAudio":
        item = await _prepare_audio(sim, body, file)
    number = body["key"]["remoteJid"] if endpoint == "sendReaction" else body["number"]
    if instance.state != "open":
        # Baileys throws "Connection Closed"; the send path wraps it as a 400 (§3.1).
        raise bad_request("Error: Connection Closed")
    check = sim.directory.check_number(number, faults)
    if not check.exists:
        if is_group(check.jid):
            raise bad_request("[object Object]")  # "Group not found" degrades this way (§3.1)
        raise bad_request({"jid": check.jid, "exists": False, "number": number})
    # `delay` blocks the HTTP response while "composing" is shown (§3.2).
    await sim.sleep(body.get("delay", 0) / 1000)
    await sim.sleep(faults.send_latency)
    ts = sim.now_ts()
    key_id = sim.ids.message_id("web")
    key: dict[str, Any] = {"remoteJid": check.jid, "fromMe": True, "id": key_id}
    message, message_type, context = payloads.normalise(
        _content(sim, instance, endpoint, body, item, ts)
    )
    stored_message = dict(message)
    if item is not None and instance.active_base64:
        message["base64"] = base64.b64encode(item.file.data).decode("ascii")
    tree = payloads.message_raw(
        key=key,
        push_name="Você",
        status="PENDING",
        message=message,
        context_info=context,
        message_type=message_type,
        timestamp=ts,
        instance_id=instance.id,
        source="web",
    )
    response: dict[str, Any] = encode(tree, binary_objects=faults.binary_objects)
    if faults.long_timestamps:
        response["messageTimestamp"] = long_object(ts)
    customer = check.customer
    stored = StoredMessage(
        key=key,
        message=stored_message,
        message_type=message_type,
        timestamp=ts,
        db_id=sim.ids.cuid(),
        customer_phone=customer.phone if customer else None,
        media=item.file.data if item else None,
    )
    instance.messages[key_id] = stored
    record = SentRecord(
        key_id, endpoint, _loggable(body), response, number, check.jid, sim.clock.now()
    )
    if file is not None:
        record.request["file"] = f"({len(file)} bytes)"
    instance.sent.append(record)
    ptt = item is not None and item.kind == "ptt"
    _schedule(
        sim, instance, stored, record, tree, _statuses(endpoint, customer, ptt), customer, faults
    )
    for hook in sim.send_hooks:
        hook(instance, record, customer)
    if fail_after:
        raise _injected(faults)
    return response


def _schedule(
    sim: Simulator,
    instance: Instance,
    stored: StoredMessage,
    record: SentRecord,
    tree: dict[str, Any],
    statuses: list[str],
    customer: Customer | None,
    faults: Faults,
) -> None:
    items = ["send.message", *statuses]
    if faults.shuffle_statuses:
        sim.fault_rng.shuffle(items)  # deliveries race and retry independently (§6.2)
    update_jid = sim.directory.chat_jid(customer, faults) if customer else record.remote_jid

    def emit(item: str) -> None:
        """Emit one item of the sequence: `send.message` or a status update."""
        current = sim.faults_for(instance)
        if item == "send.message":
            data = dict(tree)
            if current.v1_shapes or current.long_timestamps:
                data["messageTimestamp"] = long_object(stored.timestamp)
            sim.emit(instance, "send.message", data)
            if current.echo_sends_as_upsert:
                echo = dict(tree) | {"status": "SERVER_ACK"}
                echo["key"] = dict(tree["key"]) | {"participant": "", "addressingMode": "pn"}
                sim.emit(instance, "messages.upsert", echo)
            return
        record.statuses.append(item)
        owner = instance.name if current.v1_shapes else None
        data = payloads.status_update(
            key_id=stored.key["id"],
            remote_jid=update_jid,
            from_me=True,
            status=item,
            instance_id=instance.id,
            db_id=stored.db_id,
            v1_owner=owner,
            at_ms=sim.now_ms(),
        )
        sim.emit(instance, "messages.update", data)

    emit(items[0])
    if len(items) > 1:
        sim.spawn(_progress(sim, instance, items[1:], emit))


async def _progress(
    sim: Simulator, instance: Instance, items: list[str], emit: Callable[[str], None]
) -> None:
    gaps = sim.config.ack_gaps or (1.0,)
    for index, item in enumerate(items):
        await sim.sleep(gaps[min(index, len(gaps) - 1)])
        if sim.instances.get(instance.name) is not instance:
            return
        emit(item)
