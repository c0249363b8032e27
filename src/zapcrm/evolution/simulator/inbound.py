"""What a customer does on their phone, as the webhooks Evolution 2.3.6 emits for it (§2)."""

from __future__ import annotations

import base64
import re
from typing import TYPE_CHECKING, Any

from zapcrm.evolution.simulator import media, payloads
from zapcrm.evolution.simulator.encoding import Bytes
from zapcrm.evolution.simulator.errors import SimulatorError
from zapcrm.evolution.simulator.outbound import long_object
from zapcrm.evolution.simulator.state import Customer, Instance, StoredMessage

if TYPE_CHECKING:
    from zapcrm.evolution.simulator.simulator import Simulator

__all__ = ["KINDS", "customer_sends"]

KINDS = (
    "text",
    "extended_text",
    "reply",
    "image",
    "audio",
    "document",
    "location",
    "reaction",
    "edit",
    "revoke",
    "presence",
)
_PRESENCES = ("unavailable", "available", "composing", "recording", "paused")
_URL = re.compile(r"https?://\S+")
_MEDIA_KINDS = ("imageMessage", "audioMessage", "documentMessage")


def _error(message: str) -> Exception:
    return SimulatorError(message)


def _target(instance: Instance, options: dict[str, Any], name: str) -> StoredMessage:
    key_id = options.get(name)
    if not isinstance(key_id, str) or key_id not in instance.messages:
        raise _error(f"{name} must be the id of a message this instance has seen")
    return instance.messages[key_id]


def _raw_content(
    sim: Simulator,
    instance: Instance,
    customer: Customer,
    kind: str,
    options: dict[str, Any],
    ts: int,
) -> tuple[dict[str, Any], bytes | None]:
    """The Baileys message a phone sends for one kind, before Evolution's rewrites."""
    rng = sim.rng
    faults = sim.faults_for(instance)
    text = str(options.get("text") or "")
    if kind in ("text", "extended_text", "reply") and not text:
        raise _error(f"a {kind} message needs text")
    if kind == "text":
        return {"conversation": text}, None
    if kind == "extended_text":
        match = _URL.search(text)
        extended: dict[str, Any] = {"text": text}
        if match:
            extended |= {
                "matchedText": match.group(0),
                "title": str(options.get("title") or match.group(0)),
                "description": str(options.get("description") or ""),
                "previewType": 0,
                "jpegThumbnail": Bytes(media.jpeg(48, 48)),
            }
        extended["inviteLinkGroupTypeV2"] = 0
        return {"extendedTextMessage": extended}, None
    if kind == "reply":
        quoted = _target(instance, options, "quoted_id")
        participant = instance.wuid if quoted.from_me else sim.directory.chat_jid(customer, faults)
        quoted_message = {k: v for k, v in quoted.message.items() if k != "messageContextInfo"}
        context = {
            "stanzaId": quoted.key["id"],
            "participant": participant,
            "quotedMessage": quoted_message,
        }
        return {"extendedTextMessage": {"text": text, "contextInfo": context}}, None
    if kind == "image":
        data = media.jpeg(96, 72)
        file = payloads.MediaFile(data, "image/jpeg", caption=options.get("caption"))
        return {"imageMessage": payloads.image_message(file, rng, ts, None)}, data
    if kind == "audio":
        seconds = int(options.get("seconds") or 7)
        data = media.ogg_opus(seconds)
        return {"audioMessage": payloads.audio_message(data, seconds, rng, ts)}, data
    if kind == "document":
        name = str(options.get("file_name") or "documento.pdf")
        data = media.pdf(name)
        file = payloads.MediaFile(data, "application/pdf", name, options.get("caption"))
        document = payloads.document_message(file, rng, ts)
        if file.caption:
            # Phones wrap captioned documents; Evolution flattens the wrapper (§2.1).
            return {"documentWithCaptionMessage": {"message": {"documentMessage": document}}}, data
        return {"documentMessage": document}, data
    if kind == "location":
        latitude = float(options.get("latitude", -23.561414))
        longitude = float(options.get("longitude", -46.655881))
        location = payloads.location_message(
            latitude, longitude, options.get("name"), options.get("address")
        )
        return {"locationMessage": location}, None
    if kind == "reaction":
        target = _target(instance, options, "target_id")
        emoji = str(options.get("emoji", "👍"))
        # fromMe as in §2.1 example F: true when the reacted-to message is ours.
        target_key = {
            "remoteJid": sim.directory.chat_jid(customer, faults),
            "fromMe": target.from_me,
            "id": target.key["id"],
        }
        return {"reactionMessage": payloads.reaction_message(target_key, emoji, ts * 1000)}, None
    raise _error(f"unknown message type {kind!r}; expected one of {', '.join(KINDS)}")


def _own_message(
    instance: Instance, customer: Customer, options: dict[str, Any], name: str
) -> StoredMessage:
    target = _target(instance, options, name)
    if target.from_me or target.customer_phone != customer.phone:
        raise _error("a customer can only edit or revoke their own messages")
    return target


async def customer_sends(
    sim: Simulator, instance: Instance, customer: Customer, kind: str, options: dict[str, Any]
) -> dict[str, Any]:
    """Emit what the customer's action produces; returns the main event name and its data."""
    if instance.state != "open":
        raise _error(f'instance "{instance.name}" is not connected')
    faults = sim.faults_for(instance)
    v1 = faults.v1_shapes
    addressing = sim.directory.addressing_for(customer, faults)
    phone_jid, lid_jid = sim.directory.phone_jid(customer, faults), sim.directory.lid_jid(customer)
    chat_jid = sim.directory.chat_jid(customer, faults)
    ts = sim.now_ts()
    if kind == "presence":
        presence = str(options.get("presence", "composing"))
        if presence not in _PRESENCES:
            raise _error(f"presence must be one of {', '.join(_PRESENCES)}")
        data: dict[str, Any] = {
            "id": chat_jid,
            "presences": {chat_jid: {"lastKnownPresence": presence}},
        }
        data = sim.emit(instance, "presence.update", data)
        return {"event": "presence.update", "data": data}
    if kind in ("edit", "revoke"):
        target = _own_message(instance, customer, options, "target_id")
        if kind == "edit":
            new_text = str(options.get("text") or "")
            if not new_text:
                raise _error("an edit needs the new text")
            data = payloads.edit_data(instance.wuid, target.key["id"], new_text, sim.now_ms())
            target.message = {"conversation": new_text}
            data = sim.emit(instance, "messages.edited", data)
            return {"event": "messages.edited", "data": data}
        # A revoke takes the protocolMessage route too (§2.6), then arrives as messages.delete.
        sim.emit(instance, "messages.edited", payloads.revoke_data(instance.wuid, target.key["id"]))
        data = dict(target.key)
        if v1:
            data = {name: data[name] for name in ("remoteJid", "fromMe", "id")}
        instance.messages.pop(target.key["id"], None)
        data = sim.emit(instance, "messages.delete", data)
        return {"event": "messages.delete", "data": data}
    raw, media_bytes = _raw_content(sim, instance, customer, kind, options, ts)
    raw["messageContextInfo"] = payloads.message_context_info(sim.rng, ts)
    message, message_type, context = payloads.normalise(raw, v1=v1)
    key_id = sim.ids.message_id(customer.device)
    key = payloads.inbound_key(addressing, phone_jid=phone_jid, lid_jid=lid_jid, key_id=key_id)
    stored_key = dict(key)
    if v1:
        key = {"remoteJid": key["remoteJid"], "fromMe": False, "id": key_id}
    emitted_message = dict(message)
    if media_bytes is not None and instance.active_base64 and message_type in _MEDIA_KINDS:
        emitted_message["base64"] = base64.b64encode(media_bytes).decode("ascii")
    data = payloads.message_raw(
        key=key,
        push_name=customer.name,
        status="DELIVERY_ACK",  # the default for received messages (§2.1)
        message=emitted_message,
        context_info=context,
        message_type=message_type,
        timestamp=ts,
        instance_id=instance.id,
        source=customer.device,
        v1_owner=instance.name if v1 else None,
    )
    if faults.long_timestamps:
        data["messageTimestamp"] = long_object(ts)
    new_chat = chat_jid not in instance.contacts
    if new_chat:
        chat = {
            "remoteJid": chat_jid,
            "instanceId": instance.id,
            "name": customer.name,
            "unreadMessages": 1,
        }
        sim.emit(instance, "chats.upsert", [chat])
    instance.messages[key_id] = StoredMessage(
        key=stored_key,
        message=message,
        message_type=message_type,
        timestamp=ts,
        db_id=sim.ids.cuid(),
        customer_phone=customer.phone,
        media=media_bytes,
    )
    emitted = sim.emit(instance, "messages.upsert", data)
    # Every inbound message refreshes the contact: upsert when new, update when known (§2.8).
    contact = {
        "remoteJid": chat_jid,
        "pushName": customer.name,
        "profilePicUrl": None,
        "instanceId": instance.id,
    }
    sim.emit(instance, "contacts.upsert" if new_chat else "contacts.update", contact)
    instance.contacts.add(chat_jid)
    return {"event": "messages.upsert", "data": emitted}
