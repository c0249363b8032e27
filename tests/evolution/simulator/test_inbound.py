"""A customer's actions arrive as the 2.3.6 events of §2; so do connection changes."""

from __future__ import annotations

import base64
from typing import Any

import httpx
import pytest

from tests.evolution.simulator.conftest import Receiver, admin, events_of, open_instance
from zapcrm.evolution.simulator import Simulator, SimulatorError

MARIA = "5511987654321"


@pytest.fixture
async def token(api: httpx.AsyncClient, sim: Simulator, hook: str) -> str:
    sim.add_customer(MARIA, "Maria")
    sim.add_customer("5521976543210", "Carlos", device="ios")
    return await open_instance(api, hook)


async def say(sim: Simulator, kind: str, phone: str = MARIA, **options: object) -> dict[str, Any]:
    result = await sim.customer_sends(sim.instances["acme-sales"], phone, kind, **options)
    return dict(result["data"])


async def test_text_upsert_shape(sim: Simulator, token: str) -> None:
    data = await say(sim, "text", text="Oi, tudo bem?")
    assert list(data) == [
        "key",
        "pushName",
        "status",
        "message",
        "messageType",
        "messageTimestamp",
        "instanceId",
        "source",
    ]
    assert data["key"] == {
        "remoteJid": f"{MARIA}@s.whatsapp.net",
        "fromMe": False,
        "id": data["key"]["id"],
        "participant": "",
        "addressingMode": "pn",
    }
    assert len(data["key"]["id"]) == 32  # Android ids
    assert data["pushName"] == "Maria"
    assert data["status"] == "DELIVERY_ACK"
    assert data["source"] == "android"
    assert data["message"]["conversation"] == "Oi, tudo bem?"
    metadata = data["message"]["messageContextInfo"]["deviceListMetadata"]
    assert set(metadata["senderTimestamp"]) == {"low", "high", "unsigned"}
    assert len(metadata["senderKeyHash"]) == 10
    assert len(data["message"]["messageContextInfo"]["messageSecret"]) == 32
    assert data["messageType"] == "conversation"
    assert data["instanceId"] == sim.instances["acme-sales"].id


async def test_ios_ids_and_contact_events(
    sim: Simulator, token: str, receiver: Receiver, hook: str
) -> None:
    first = await say(sim, "text", "5521976543210", text="oi")
    await say(sim, "text", "5521976543210", text="tudo bem?")
    await sim.drain()
    assert first["key"]["id"].startswith("3A")
    assert len(first["key"]["id"]) == 20
    assert first["source"] == "ios"
    events = [
        c.event
        for c in receiver.received(hook)
        if c.event.startswith(("chats", "contacts", "messages"))
    ]
    assert events == [
        "chats.upsert",
        "messages.upsert",
        "contacts.upsert",
        "messages.upsert",
        "contacts.update",
    ]
    contact = events_of(receiver.received(hook), "contacts.upsert")[0].body["data"]
    assert set(contact) == {"remoteJid", "pushName", "profilePicUrl", "instanceId"}


async def test_extended_text_shows_as_conversation(sim: Simulator, token: str) -> None:
    data = await say(sim, "extended_text", text="Olha: https://lojademo.example.com/p/1")
    assert data["messageType"] == "conversation"
    assert data["message"]["conversation"] == "Olha: https://lojademo.example.com/p/1"
    assert "extendedTextMessage" not in data["message"]


async def test_quoted_reply(api: httpx.AsyncClient, sim: Simulator, token: str) -> None:
    ours = (
        await api.post(
            "/message/sendText/acme-sales",
            json={"number": MARIA, "text": "Seu pedido saiu"},
            headers={"apikey": token},
        )
    ).json()
    data = await say(sim, "reply", quoted_id=ours["key"]["id"], text="Obrigada!")
    assert data["message"]["conversation"] == "Obrigada!"
    context = data["contextInfo"]
    assert context["stanzaId"] == ours["key"]["id"]
    assert context["participant"] == sim.instances["acme-sales"].wuid
    assert context["quotedMessage"] == {"conversation": "Seu pedido saiu"}


async def test_image_base64_needs_a_reconnect(
    api: httpx.AsyncClient, sim: Simulator, token: str, hook: str
) -> None:
    body = {"webhook": {"enabled": True, "url": hook, "base64": True, "events": []}}
    await api.post("/webhook/set/acme-sales", json=body, headers={"apikey": token})
    cached = await say(sim, "image", caption="nota fiscal")
    assert "base64" not in cached["message"]  # base64 is loaded on connect only (#1555)
    await api.post("/instance/restart/acme-sales", headers={"apikey": token})
    await sim.drain()
    data = await say(sim, "image", caption="nota fiscal")
    assert data["messageType"] == "imageMessage"
    assert data["contextInfo"] == {}
    image = data["message"]["imageMessage"]
    assert image["caption"] == "nota fiscal"
    assert image["mimetype"] == "image/jpeg"
    assert base64.b64decode(data["message"]["base64"]).startswith(b"\xff\xd8")


async def test_voice_note_document_and_location(sim: Simulator, token: str) -> None:
    voice = await say(sim, "audio", seconds=9)
    audio = voice["message"]["audioMessage"]
    assert voice["messageType"] == "audioMessage"
    assert audio["ptt"] is True
    assert audio["seconds"] == 9
    assert audio["mimetype"] == "audio/ogg; codecs=opus"
    assert len(audio["waveform"]) == 64
    document = await say(sim, "document", file_name="boleto.pdf", caption="segue o boleto")
    # documentWithCaptionMessage is flattened (§2.1).
    assert document["messageType"] == "documentMessage"
    assert document["message"]["documentMessage"]["caption"] == "segue o boleto"
    assert document["message"]["documentMessage"]["fileName"] == "boleto.pdf"
    location = await say(sim, "location", latitude=-8.0597, longitude=-34.8799, name="Casa")
    pin = location["message"]["locationMessage"]
    assert (pin["degreesLatitude"], pin["degreesLongitude"], pin["name"]) == (
        -8.0597,
        -34.8799,
        "Casa",
    )


async def test_reaction_to_our_message(api: httpx.AsyncClient, sim: Simulator, token: str) -> None:
    ours = (
        await api.post(
            "/message/sendText/acme-sales",
            json={"number": MARIA, "text": "Pronto!"},
            headers={"apikey": token},
        )
    ).json()
    data = await say(sim, "reaction", target_id=ours["key"]["id"], emoji="🙏")
    reaction = data["message"]["reactionMessage"]
    assert data["messageType"] == "reactionMessage"
    assert reaction["text"] == "🙏"
    assert reaction["key"] == {
        "remoteJid": f"{MARIA}@s.whatsapp.net",
        "fromMe": True,
        "id": ours["key"]["id"],
    }
    assert set(reaction["senderTimestampMs"]) == {"low", "high", "unsigned"}


async def test_edit_and_revoke(sim: Simulator, token: str, receiver: Receiver, hook: str) -> None:
    original = await say(sim, "text", text="Quero 2 unidades")
    edited = await say(sim, "edit", target_id=original["key"]["id"], text="Quero 3 unidades")
    own = sim.instances["acme-sales"].wuid
    # The key is the editor's: fromMe true and our own number (#1367, #1647).
    assert edited["key"] == {"remoteJid": own, "fromMe": True, "id": original["key"]["id"]}
    assert edited["type"] == "MESSAGE_EDIT"
    assert edited["editedMessage"] == {"conversation": "Quero 3 unidades"}
    assert edited["timestampMs"].isdigit()
    deleted = await say(sim, "revoke", target_id=original["key"]["id"])
    assert deleted == original["key"]
    await sim.drain()
    revokes = [c.body["data"] for c in events_of(receiver.received(hook), "messages.edited")]
    assert revokes[-1] == {
        "key": {"remoteJid": own, "fromMe": True, "id": original["key"]["id"]},
        "type": "REVOKE",
    }
    with pytest.raises(SimulatorError):
        await say(sim, "edit", target_id=original["key"]["id"], text="já apagada")


async def test_presence(sim: Simulator, token: str) -> None:
    data = await say(sim, "presence", presence="recording")
    jid = f"{MARIA}@s.whatsapp.net"
    assert data == {"id": jid, "presences": {jid: {"lastKnownPresence": "recording"}}}


async def test_connection_changes(
    api: httpx.AsyncClient, sim: Simulator, token: str, receiver: Receiver, hook: str
) -> None:
    await sim.drain()
    already = len(receiver.received(hook))
    for action in ("drop", "logout", "qr", "refuse"):
        response = await api.post(
            "/_sim/instances/acme-sales/connection", json={"action": action}, headers=admin()
        )
        assert response.status_code == 200
        await sim.drain()
    seen = [(c.event, c.body["data"]) for c in receiver.received(hook)[already:]]
    states = [(e, d.get("state") if isinstance(d, dict) else d) for e, d in seen]
    assert states == [
        ("connection.update", "connecting"),
        ("connection.update", "open"),  # transient: no close
        ("status.instance", None),
        ("connection.update", "close"),
        ("logout.instance", None),
        ("connection.update", "connecting"),
        ("qrcode.updated", None),
        ("qrcode.updated", None),
        ("connection.update", "refused"),
    ]
    closed = seen[2][1]
    assert closed["status"] == "closed"
    assert closed["disconnectionReasonCode"] == 401
    assert seen[3][1]["statusReason"] == 401
    assert seen[7][1] == {"message": "QR code limit reached, please login again", "statusCode": 500}


async def test_customer_actions_need_an_open_instance(sim: Simulator, token: str) -> None:
    sim.logout(sim.instances["acme-sales"])
    with pytest.raises(SimulatorError):
        await say(sim, "text", text="oi")
