"""Sending files: upload, limits and sniffing at the API, the stored file, the gateway calls
(sendMedia / sendWhatsAppAudio as the simulator logs them), idempotency, the echo and RLS."""

from __future__ import annotations

import asyncio
import base64
import uuid
from pathlib import Path
from typing import Any

import httpx

from tests.conftest import Factory, login
from tests.evolution.harness import rows
from tests.live import SseReader
from tests.messaging.chats import assign, new_chat
from tests.messaging.gateway import CustomerChat, Gateway, count_from_me, until
from zapcrm.db import Database
from zapcrm.evolution.simulator import media as sample
from zapcrm.models import Role
from zapcrm.runtime import Runtime

JPEG = sample.jpeg(8, 8)
PDF = sample.pdf("Proposta")
VOICE = sample.ogg_opus(3)


def _files(kind: str, data: bytes, name: str, content_type: str) -> dict[str, Any]:
    return {"file": (name, data, content_type)}


async def _upload(
    app: httpx.AsyncClient,
    conversation_id: Any,
    headers: dict[str, str],
    *,
    kind: str,
    data: bytes,
    name: str = "arquivo.bin",
    content_type: str = "application/octet-stream",
    **fields: str,
) -> httpx.Response:
    return await app.post(
        f"/api/conversations/{conversation_id}/messages",
        data={"type": kind, **fields},
        files=_files(kind, data, name, content_type),
        headers=headers,
    )


async def _upload_as_admin(chat: CustomerChat, **upload: Any) -> httpx.Response:
    """The chat's admin uploads a file to it through the live app (a connection of its own)."""
    async with chat.gateway.app() as app:
        return await _upload(app, chat.conversation_id, await login(app, chat.admin), **upload)


def _decoded(logged: str) -> bytes:
    return base64.b64decode(logged, validate=True)


async def _accepted(db: Database, message_id: str) -> dict[str, Any]:
    found = await until(
        db,
        "select key_id, status, type, body, media_status, media_path, media_mimetype,"
        " media_file_name, media_size, message_payload,"
        " coalesce(raw_payload -> 'message' ? 'base64', false) as has_base64"
        " from evolution_messages where id = :id",
        {"id": message_id},
        lambda r: r and r[0]["key_id"] is not None,
    )
    return found[0]


async def test_an_image_with_caption_is_stored_queued_and_sent_as_send_media(
    live_worker: None, gateway: Gateway, customer_chat: CustomerChat, runtime: Runtime
) -> None:
    response = await _upload_as_admin(
        customer_chat,
        kind="image",
        data=JPEG,
        name="foto.png",  # the name and the declared type lie: the bytes are JPEG
        content_type="image/png",
        caption="Seu bolo 🎂",
    )
    assert response.status_code == 202, response.text
    queued = response.json()
    assert queued["status"] == "queued"
    assert queued["type"] == "image"
    assert queued["media"] == {
        "mimetype": "image/jpeg",
        "file_name": None,
        "size": len(JPEG),
        "status": "stored",
    }
    assert queued["details"]["caption"] == "Seu bolo 🎂"
    stored = await _accepted(gateway.db, queued["id"])
    assert stored["media_status"] == "stored"
    assert (Path(runtime.settings.media_dir) / stored["media_path"]).read_bytes() == JPEG
    # Shaped like an inbound image, and the echo merged into it without its base64 copy.
    assert stored["message_payload"]["message_type"] == "image"
    assert stored["message_payload"]["media"]["mimetype"] == "image/jpeg"
    assert stored["has_base64"] is False
    [sent] = await gateway.until_sent()
    assert sent["endpoint"] == "sendMedia"
    request = sent["request"]
    assert request["mediatype"] == "image"
    assert request["mimetype"] == "image/jpeg"
    assert request["caption"] == "Seu bolo 🎂"
    assert "fileName" not in request
    assert sent["key_id"] == stored["key_id"]
    assert await count_from_me(gateway.db, customer_chat.conversation_id) == 1


async def test_a_document_goes_with_its_file_name(
    live_worker: None, gateway: Gateway, customer_chat: CustomerChat
) -> None:
    response = await _upload_as_admin(
        customer_chat,
        kind="document",
        data=PDF,
        name="C:\\Users\\ana\\upload.pdf",
        file_name="Proposta 2026.pdf",
        caption="Segue a proposta",
    )
    assert response.status_code == 202, response.text
    assert response.json()["media"]["file_name"] == "Proposta 2026.pdf"
    stored = await _accepted(gateway.db, response.json()["id"])
    assert stored["type"] == "document"
    assert stored["media_mimetype"] == "application/pdf"
    [sent] = await gateway.until_sent()
    assert sent["endpoint"] == "sendMedia"
    assert sent["request"]["mediatype"] == "document"
    assert sent["request"]["fileName"] == "Proposta 2026.pdf"
    assert sent["request"]["mimetype"] == "application/pdf"
    assert sent["request"]["caption"] == "Segue a proposta"
    # The simulator logs the base64 in full only when short; a PDF this small is.
    if not sent["request"]["media"].endswith("chars)"):
        assert _decoded(sent["request"]["media"]) == PDF


async def test_a_voice_note_is_sent_with_send_whatsapp_audio(
    live_worker: None, gateway: Gateway, customer_chat: CustomerChat
) -> None:
    response = await _upload_as_admin(customer_chat, kind="audio", data=VOICE, name="gravacao.ogg")
    refused = await _upload_as_admin(customer_chat, kind="audio", data=VOICE, caption="não cabe")
    assert response.status_code == 202, response.text
    assert refused.status_code == 422
    stored = await _accepted(gateway.db, response.json()["id"])
    assert stored["type"] == "audio"
    assert stored["message_payload"]["media"]["ptt"] is True
    assert stored["media_mimetype"] == "audio/ogg"
    [sent] = await gateway.until_sent()
    assert sent["endpoint"] == "sendWhatsAppAudio"
    assert set(sent["request"]) == {"number", "audio"}


async def test_a_file_over_its_kinds_limit_is_refused_and_nothing_is_queued(
    client: httpx.AsyncClient, db: Database, factory: Factory, runtime: Runtime
) -> None:
    chat = await new_chat(client, db, factory, "BIG1")
    admin = await factory.user(chat.instance.company_id, Role.ADMIN)
    headers = await login(client, admin)
    limit = runtime.settings.media_max_image_bytes
    big = JPEG + b"\x00" * (limit + 1 - len(JPEG))
    response = await _upload(client, chat.conversation_id, headers, kind="image", data=big)
    assert response.status_code == 413, response.text
    assert response.json()["error"]["message"] == "a imagem passa do limite de 5 MB"
    # The same bytes are fine as a document, whose limit is larger: the limit is per kind.
    document = PDF + b"\x00" * (limit + 1 - len(PDF))
    accepted = await _upload(
        client, chat.conversation_id, headers, kind="document", data=document, name="a.pdf"
    )
    assert accepted.status_code == 202, accepted.text
    queued = await rows(
        db, "select type from evolution_messages where conversation_id = :c and from_me",
        c=chat.conversation_id,
    )  # fmt: skip
    assert queued == [{"type": "document"}]
    company_dir = Path(runtime.settings.media_dir) / str(chat.instance.company_id)
    assert [path.name for path in company_dir.iterdir()] == [f"{accepted.json()['id']}.pdf"]


async def test_types_the_kind_does_not_allow_are_refused(
    client: httpx.AsyncClient, db: Database, factory: Factory, runtime: Runtime
) -> None:
    chat = await new_chat(client, db, factory, "TYPE1")
    headers = await login(client, await factory.user(chat.instance.company_id, Role.ADMIN))
    url_id = chat.conversation_id
    program = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff" + bytes(200)
    cases = [
        ("image", PDF, "foto.jpg", "image/jpeg"),  # a PDF claiming to be a photo
        ("document", program, "contrato.pdf", "application/pdf"),  # a program claiming PDF
        ("document", b"<html><script>x</script></html>", "nota.html", "text/html"),
        ("video", JPEG, "video.mp4", "video/mp4"),
        ("audio", b"texto qualquer", "voz.ogg", "audio/ogg"),
    ]
    for kind, data, name, content_type in cases:
        response = await _upload(
            client, url_id, headers, kind=kind, data=data, name=name, content_type=content_type
        )
        assert response.status_code == 422, (kind, name, response.text)
        assert "tipo de arquivo não permitido" in response.json()["error"]["message"]
    unknown_kind = await _upload(client, url_id, headers, kind="sticker", data=JPEG)
    assert unknown_kind.status_code == 422
    no_file = await client.post(
        f"/api/conversations/{url_id}/messages",
        data={"type": "image"},
        files={"other": ("x", b"", "text/plain")},
        headers=headers,
    )
    assert no_file.status_code == 422
    # A CSV has no magic number: it is accepted as text by its name.
    csv = await _upload(
        client, url_id, headers, kind="document", data=b"nome;valor\nbolo;10\n", name="lista.csv"
    )
    assert csv.status_code == 202, csv.text
    assert csv.json()["media"]["mimetype"] == "text/csv"
    assert await count_from_me(db, url_id) == 1


async def test_the_idempotency_key_makes_a_retried_upload_one_message_and_one_send(
    live_worker: None, gateway: Gateway, customer_chat: CustomerChat, runtime: Runtime
) -> None:
    conversation_id = customer_chat.conversation_id
    async with gateway.app() as app:
        headers = {**await login(app, customer_chat.admin), "Idempotency-Key": "foto-1"}
        first, second = await asyncio.gather(
            *(
                _upload(app, conversation_id, headers, kind="image", data=JPEG, caption="uma")
                for _ in range(2)
            )
        )
        third = await _upload(app, conversation_id, headers, kind="image", data=JPEG)
    assert first.status_code == second.status_code == third.status_code == 202
    assert first.json()["id"] == second.json()["id"] == third.json()["id"]
    await _accepted(gateway.db, first.json()["id"])
    assert await count_from_me(gateway.db, conversation_id) == 1
    company_dir = Path(runtime.settings.media_dir) / str(gateway.company_id)
    expected = [f"{first.json()['id']}.jpg"]
    # A copy the worker downloaded for the gateway's echo (folded into our row) is removed
    # right after the fold, which may come a moment after the key id the test waited for.
    for _ in range(50):
        if [path.name for path in company_dir.iterdir()] == expected:
            break
        await asyncio.sleep(0.1)
    assert [path.name for path in company_dir.iterdir()] == expected
    await asyncio.sleep(0.5)  # a second send would have reached the simulator by now
    assert len(await gateway.until_sent()) == 1


async def test_an_echo_that_beats_the_answer_still_leaves_one_media_row(
    live_worker: None, gateway: Gateway, customer_chat: CustomerChat
) -> None:
    conversation_id = customer_chat.conversation_id
    # The gateway sends (the echo is stored as its own row first), then answers 500: the retry
    # must recognise the echo by type and caption and fold it into our row, not send again.
    await gateway.set_faults(rest_error_rate=1.0, rest_error_after_send=True)
    async with gateway.app() as app:
        headers = await login(app, customer_chat.admin)
        live = SseReader(app, headers)
        await asyncio.wait_for(live.ready.wait(), 10)
        response = await _upload(
            app, conversation_id, headers, kind="document", data=PDF, name="boleto.pdf"
        )
        assert response.status_code == 202, response.text
        message_id = response.json()["id"]
        stored = await _accepted(gateway.db, message_id)
        # Clients saw the echo as a message of its own; the send's event tells them to drop it.
        folded = await live.wait_for(
            lambda event: (
                event["data"].get("message", {}).get("id") == message_id
                and "folded_message_id" in event["data"]
            )
        )
        assert folded["data"]["folded_message_id"] != message_id
        await live.close()
        page = await app.get(f"/api/conversations/{conversation_id}/messages", headers=headers)
    assert [item["id"] for item in page.json()["items"] if item["from_me"]] == [message_id]
    assert stored["media_status"] == "stored"
    assert len(await gateway.until_sent()) == 1
    ours = await rows(
        gateway.db,
        "select id, type from evolution_messages where conversation_id = :c and from_me",
        c=conversation_id,
    )
    assert ours == [{"id": uuid.UUID(message_id), "type": "document"}]


async def test_operator_cannot_send_media_in_a_conversation_they_cannot_see(
    client: httpx.AsyncClient, db: Database, factory: Factory, runtime: Runtime
) -> None:
    chat = await new_chat(client, db, factory, "SEEN2")
    owner = await factory.user(chat.instance.company_id, Role.OPERATOR)
    intruder = await factory.user(chat.instance.company_id, Role.OPERATOR)
    await assign(db, chat.conversation_id, owner.id)
    response = await _upload(
        client,
        chat.conversation_id,
        await login(client, intruder),
        kind="image",
        data=JPEG,
        caption="intrometido",
    )
    assert response.status_code == 404
    assert await count_from_me(db, chat.conversation_id) == 0
    assert not (Path(runtime.settings.media_dir) / str(chat.instance.company_id)).exists()
