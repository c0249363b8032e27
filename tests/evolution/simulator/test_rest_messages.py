"""Send and chat routes: §3.11 send responses, BR ninth-digit rewrites and the real error bodies."""

from __future__ import annotations

import base64
from typing import Any

import httpx
import pytest

from tests.evolution.simulator.conftest import Receiver, open_instance
from zapcrm.evolution.simulator import Simulator, media


@pytest.fixture
async def token(api: httpx.AsyncClient, sim: Simulator) -> str:
    sim.add_customer("5511987654321", "Maria")
    sim.add_customer("5531991234567", "João", legacy_without_ninth=True)
    sim.add_customer("5521976543210", "Carlos", lid="76201477542116")
    return await open_instance(api, None)


async def send(
    api: httpx.AsyncClient, token: str, endpoint: str, body: dict[str, Any]
) -> httpx.Response:
    return await api.post(f"/message/{endpoint}/acme-sales", json=body, headers={"apikey": token})


async def test_send_text_returns_the_pending_message_raw(
    api: httpx.AsyncClient, token: str
) -> None:
    response = await send(api, token, "sendText", {"number": "+55 (11) 98765-4321", "text": "Olá!"})
    assert response.status_code == 201
    sent = response.json()
    assert list(sent) == [
        "key",
        "pushName",
        "status",
        "message",
        "contextInfo",
        "messageType",
        "messageTimestamp",
        "instanceId",
        "source",
    ]
    assert sent["key"]["remoteJid"] == "5511987654321@s.whatsapp.net"
    assert sent["key"]["fromMe"] is True
    assert sent["key"]["id"].startswith("3EB0")
    assert len(sent["key"]["id"]) == 22
    assert sent["pushName"] == "Você"
    assert sent["status"] == "PENDING"
    assert sent["source"] == "web"
    assert sent["message"] == {"conversation": "Olá!"}
    assert sent["messageType"] == "conversation"
    assert isinstance(sent["messageTimestamp"], int)
    context = sent["contextInfo"]
    assert context["mentionedJid"] == []
    assert context["disappearingMode"] == {"initiator": 0}
    assert set(context["ephemeralSettingTimestamp"]) == {"low", "high", "unsigned"}


async def test_send_uses_the_jid_whatsapp_knows_for_br_numbers(
    api: httpx.AsyncClient, token: str
) -> None:
    with_nine = await send(api, token, "sendText", {"number": "5531991234567", "text": "oi"})
    assert with_nine.json()["key"]["remoteJid"] == "553191234567@s.whatsapp.net"
    without_nine = await send(api, token, "sendText", {"number": "551187654321", "text": "oi"})
    assert without_nine.json()["key"]["remoteJid"] == "5511987654321@s.whatsapp.net"


async def test_sending_to_a_number_not_on_whatsapp_is_400_with_the_check(
    api: httpx.AsyncClient, token: str
) -> None:
    response = await send(api, token, "sendText", {"number": "5531988887777", "text": "oi"})
    assert response.status_code == 400
    # createJid already dropped the 9 (DDD 31, subscriber starting with 8).
    assert response.json() == {
        "status": 400,
        "error": "Bad Request",
        "response": {
            "message": [
                {"jid": "553188887777@s.whatsapp.net", "exists": False, "number": "5531988887777"}
            ]
        },
    }


async def test_send_validation_errors_are_nested_arrays(api: httpx.AsyncClient, token: str) -> None:
    missing = await send(api, token, "sendText", {"number": "5511987654321"})
    assert missing.json()["response"]["message"] == [['instance requires property "text"']]
    blank = await send(api, token, "sendText", {"number": "5511987654321", "text": ""})
    assert blank.json()["response"]["message"] == [['The "text" cannot be empty']]
    typed = await send(api, token, "sendText", {"number": 5511987654321, "text": "x", "delay": "1"})
    assert typed.json()["response"]["message"] == [
        ["Invalid format", "Enter a value in milliseconds"]
    ]


async def test_sending_on_a_closed_instance_is_connection_closed(
    api: httpx.AsyncClient, token: str, sim: Simulator
) -> None:
    sim.logout(sim.instances["acme-sales"])
    response = await send(api, token, "sendText", {"number": "5511987654321", "text": "oi"})
    assert response.status_code == 400
    assert response.json()["response"]["message"] == ["Error: Connection Closed"]


async def test_send_to_a_lid_and_an_unknown_group(api: httpx.AsyncClient, token: str) -> None:
    lid = await send(api, token, "sendText", {"number": "76201477542116@lid", "text": "oi"})
    assert lid.json()["key"]["remoteJid"] == "76201477542116@lid"
    group = await send(api, token, "sendText", {"number": "120363041234567890@g.us", "text": "oi"})
    assert group.status_code == 400
    assert group.json()["response"]["message"] == ["[object Object]"]


async def test_quoted_reply_carries_the_context(
    api: httpx.AsyncClient, token: str, sim: Simulator
) -> None:
    incoming = await sim.customer_sends(
        sim.instances["acme-sales"], "5511987654321", "text", text="Cadê?"
    )
    key = incoming["data"]["key"]
    body = {"number": "5511987654321", "text": "Saiu!", "quoted": {"key": {"id": key["id"]}}}
    context = (await send(api, token, "sendText", body)).json()["contextInfo"]
    assert context["stanzaId"] == key["id"]
    assert context["participant"] == "5511987654321@s.whatsapp.net"
    assert context["quotedMessage"] == {"conversation": "Cadê?"}
    unknown = body | {"quoted": {"key": {"id": "NOPE"}}}
    assert "stanzaId" not in (await send(api, token, "sendText", unknown)).json()["contextInfo"]


async def test_send_media_image_and_document(api: httpx.AsyncClient, token: str) -> None:
    image = base64.b64encode(media.jpeg()).decode()
    sent = await send(
        api,
        token,
        "sendMedia",
        {
            "number": "5511987654321",
            "mediatype": "image",
            "mimetype": "image/png",
            "caption": "nota",
            "media": image,
        },
    )
    assert sent.status_code == 201
    assert sent.json()["messageType"] == "imageMessage"
    content = sent.json()["message"]["imageMessage"]
    assert content["mimetype"] == "image/jpeg"
    assert content["caption"] == "nota"
    assert (content["width"], content["height"]) == (64, 48)
    pdf = base64.b64encode(media.pdf("Boleto")).decode()
    doc = {"number": "5511987654321", "mediatype": "document", "media": pdf}
    no_name = await send(api, token, "sendMedia", doc)
    assert no_name.json()["response"]["message"] == ["For base64 the file name must be informed."]
    named = await send(api, token, "sendMedia", doc | {"fileName": "boleto.pdf"})
    document = named.json()["message"]["documentMessage"]
    assert document["fileName"] == "boleto.pdf"
    assert document["mimetype"] == "application/pdf"


async def test_send_media_rejects_data_uris_and_failed_downloads(
    api: httpx.AsyncClient, token: str, receiver: Receiver
) -> None:
    body = {"number": "5511987654321", "mediatype": "image", "media": "data:image/png;base64,AAAA"}
    data_uri = await send(api, token, "sendMedia", body)
    assert data_uri.status_code == 400
    assert data_uri.json()["response"]["message"] == ["Owned media must be a url or base64"]
    missing = await send(
        api, token, "sendMedia", body | {"media": f"{receiver.base_url}/missing.png"}
    )
    assert missing.status_code == 500  # the receiver only answers POST: 405 on download (§3.1)
    assert missing.json()["error"] == "Internal Server Error"


async def test_send_media_multipart_upload(api: httpx.AsyncClient, token: str) -> None:
    files = {"file": ("foto.jpg", media.jpeg(), "image/jpeg")}
    data = {"number": "5511987654321", "mediatype": "image", "caption": "upload"}
    response = await api.post(
        "/message/sendMedia/acme-sales", data=data, files=files, headers={"apikey": token}
    )
    assert response.status_code == 201
    assert response.json()["message"]["imageMessage"]["caption"] == "upload"


async def test_send_whatsapp_audio_is_a_ptt_voice_note(api: httpx.AsyncClient, token: str) -> None:
    audio = base64.b64encode(media.ogg_opus(4)).decode()
    sent = (
        await send(api, token, "sendWhatsAppAudio", {"number": "5511987654321", "audio": audio})
    ).json()
    assert sent["messageType"] == "audioMessage"
    voice = sent["message"]["audioMessage"]
    assert voice["ptt"] is True
    assert voice["mimetype"] == "audio/ogg; codecs=opus"
    assert voice["seconds"] == 4
    garbage = base64.b64encode(b"not audio at all").decode()
    failed = await send(
        api, token, "sendWhatsAppAudio", {"number": "5511987654321", "audio": garbage}
    )
    assert failed.status_code == 500
    assert failed.json()["response"]["message"] == ["Failed to convert audio"]


async def test_send_reaction(api: httpx.AsyncClient, token: str) -> None:
    key = {
        "remoteJid": "5511987654321@s.whatsapp.net",
        "fromMe": False,
        "id": "3A5F0C1E2B9D8A7C6B5D",
    }
    for emoji in ("👍", "👨‍👩‍👧", "🇧🇷", "👍🏽", ""):
        reacted = await send(api, token, "sendReaction", {"key": key, "reaction": emoji})
        assert reacted.status_code == 201, emoji
        assert reacted.json()["message"]["reactionMessage"]["text"] == emoji
        assert reacted.json()["messageType"] == "reactionMessage"
    for bad in ("ok", "👍👍", "👍 "):
        refused = await send(api, token, "sendReaction", {"key": key, "reaction": bad})
        assert refused.status_code == 400, bad
        assert refused.json()["response"]["message"] == [
            "Reaction must be a single emoji or empty string"
        ]


async def test_mark_message_as_read_drops_lid_keys(
    api: httpx.AsyncClient, token: str, sim: Simulator
) -> None:
    keys = [
        {"remoteJid": "5511987654321@s.whatsapp.net", "fromMe": False, "id": "A1"},
        {"remoteJid": "76201477542116@lid", "fromMe": False, "id": "A2"},
        {"remoteJid": "120363041234567890@g.us", "fromMe": False, "id": "A3"},
    ]
    response = await api.post(
        "/chat/markMessageAsRead/acme-sales", json={"readMessages": keys}, headers={"apikey": token}
    )
    assert response.status_code == 201
    assert response.json() == {"message": "Read messages", "read": "success"}
    forwarded = {r.key["id"]: r.forwarded for r in sim.instances["acme-sales"].reads}
    assert forwarded == {"A1": True, "A2": False, "A3": True}
    sim.logout(sim.instances["acme-sales"])
    failed = await api.post(
        "/chat/markMessageAsRead/acme-sales", json={"readMessages": keys}, headers={"apikey": token}
    )
    assert failed.status_code == 500
    assert failed.json()["response"]["message"][0] == "Read messages fail"


async def test_whatsapp_numbers_probes_both_br_variants(api: httpx.AsyncClient, token: str) -> None:
    numbers = [
        "5531991234567",
        "553191234567",
        "551187654321",
        "5511911112222",
        "76201477542116@lid",
    ]
    response = await api.post(
        "/chat/whatsappNumbers/acme-sales", json={"numbers": numbers}, headers={"apikey": token}
    )
    assert response.status_code == 200
    assert response.json() == [
        {
            "jid": "553191234567@s.whatsapp.net",
            "exists": True,
            "number": "5531991234567",
            "name": "João",
        },
        {
            "jid": "553191234567@s.whatsapp.net",
            "exists": True,
            "number": "553191234567",
            "name": "João",
        },
        {
            "jid": "5511987654321@s.whatsapp.net",
            "exists": True,
            "number": "551187654321",
            "name": "Maria",
        },
        {"jid": "5511911112222@s.whatsapp.net", "exists": False, "number": "5511911112222"},
        {
            "jid": "76201477542116@lid",
            "exists": True,
            "number": "76201477542116@lid",
            "name": "Carlos",
            "lid": "lid",
        },
    ]
    invalid = await api.post("/chat/whatsappNumbers/acme-sales", json={}, headers={"apikey": token})
    assert invalid.status_code == 400
    # This route's errors have no `response` wrapper (§3.1).
    assert invalid.json() == {
        "status": 400,
        "error": "Bad Request",
        "message": [['instance requires property "numbers"']],
    }


async def test_get_base64_from_media_message(
    api: httpx.AsyncClient, token: str, sim: Simulator
) -> None:
    incoming = await sim.customer_sends(
        sim.instances["acme-sales"],
        "5511987654321",
        "document",
        file_name="boleto.pdf",
        caption="segue",
    )
    body = {"message": {"key": {"id": incoming["data"]["key"]["id"]}}, "convertToMp4": False}
    response = await api.post(
        "/chat/getBase64FromMediaMessage/acme-sales", json=body, headers={"apikey": token}
    )
    assert response.status_code == 201
    found = response.json()
    assert found["mediaType"] == "documentMessage"
    assert found["fileName"] == "boleto.pdf"
    assert found["caption"] == "segue"
    assert found["mimetype"] == "application/pdf"
    assert base64.b64decode(found["base64"]) == media.pdf("boleto.pdf")
    assert set(found["size"]) == {"fileLength"}
    missing = await api.post(
        "/chat/getBase64FromMediaMessage/acme-sales",
        json={"message": {"key": {"id": "NOPE"}}},
        headers={"apikey": token},
    )
    assert missing.status_code == 400
    assert missing.json()["response"]["message"] == ["Message not found"]
    text = await sim.customer_sends(sim.instances["acme-sales"], "5511987654321", "text", text="oi")
    not_media = await api.post(
        "/chat/getBase64FromMediaMessage/acme-sales",
        json={"message": {"key": {"id": text["data"]["key"]["id"]}}},
        headers={"apikey": token},
    )
    assert not_media.json()["response"]["message"] == ["The message is not of the media type"]
