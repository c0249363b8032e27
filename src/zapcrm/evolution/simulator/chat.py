"""The `/chat` endpoints zapcrm uses: read receipts, number checks, media download (§3.6–§3.10)."""

from __future__ import annotations

import base64
from typing import TYPE_CHECKING, Any

from zapcrm.evolution.simulator.encoding import encode
from zapcrm.evolution.simulator.errors import bad_request, internal_error, raw_bad_request, validate
from zapcrm.evolution.simulator.numbers import is_group, is_pn
from zapcrm.evolution.simulator.schemas import BASE64_SCHEMA, NUMBERS_SCHEMA, READ_SCHEMA
from zapcrm.evolution.simulator.state import Instance, ReadReceipt

if TYPE_CHECKING:
    from zapcrm.evolution.simulator.simulator import Simulator

__all__ = ["mark_read", "media_base64", "whatsapp_numbers"]

_MEDIA_TYPES = ("imageMessage", "videoMessage", "audioMessage", "documentMessage", "stickerMessage")


def mark_read(sim: Simulator, instance: Instance, body: Any) -> dict[str, Any]:
    """Record read receipts; keys that are not `@s.whatsapp.net`/`@g.us` are dropped (§3.6)."""
    validate(body, READ_SCHEMA)
    if instance.state != "open":
        raise internal_error(["Read messages fail", "Error: Connection Closed"])
    now = sim.clock.now()
    for key in body["readMessages"]:
        jid = key["remoteJid"]
        forwarded = is_pn(jid) or is_group(jid)
        instance.reads.append(
            ReadReceipt({k: key[k] for k in ("remoteJid", "fromMe", "id")}, forwarded, now)
        )
    return {"message": "Read messages", "read": "success"}


def whatsapp_numbers(sim: Simulator, instance: Instance, body: Any) -> list[dict[str, Any]]:
    """Probe numbers in the directory, both BR variants; errors lack `response` (§3.1, §3.7)."""
    validate(body, NUMBERS_SCHEMA, raw=True)
    if instance.state != "open":
        raise raw_bad_request("Connection Closed")
    faults = sim.faults_for(instance)
    return [sim.directory.check_number(number, faults).as_dict() for number in body["numbers"]]


def media_base64(sim: Simulator, instance: Instance, body: Any) -> dict[str, Any]:
    """The stored media of a message by `key.id` (§3.10); failures are 400 with the reason."""
    validate(body, BASE64_SCHEMA)
    stored = instance.messages.get(body["message"]["key"]["id"])
    if stored is None:
        raise bad_request("Message not found")
    media_type = next((t for t in _MEDIA_TYPES if t in stored.message), None)
    if media_type is None or stored.media is None:
        raise bad_request("The message is not of the media type")
    content = stored.message[media_type]
    faults = sim.faults_for(instance)
    size = {
        "fileLength": content.get("fileLength"),
        "height": content.get("height"),
        "width": content.get("width"),
    }
    result: dict[str, Any] = {
        "mediaType": media_type,
        "fileName": content.get("fileName"),
        "caption": content.get("caption"),
        "size": {k: v for k, v in size.items() if v is not None},
        "mimetype": content.get("mimetype"),
        "base64": base64.b64encode(stored.media).decode("ascii"),
    }
    # Undefined fields vanish from the JSON, as in Node.
    cleaned = {k: v for k, v in result.items() if v is not None}
    rendered = encode(cleaned, binary_objects=faults.binary_objects)
    assert isinstance(rendered, dict)
    return rendered
