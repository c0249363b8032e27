"""Media arriving as base64 inside the webhook is stored and removed from `raw_payload`."""

from __future__ import annotations

import asyncio
import base64
import uuid
from pathlib import Path

import httpx
import orjson
from sqlalchemy import text

from tests.conftest import Factory, login
from tests.evolution.harness import new_instance, post, rows, text_message
from tests.live import SseReader, token_headers
from zapcrm.db import Database
from zapcrm.messaging import cache
from zapcrm.messaging.media import build_media_storage
from zapcrm.models import Role
from zapcrm.runtime import Runtime

PNG = bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010806000000")


async def test_inline_base64_media_is_saved_and_stripped(
    client: httpx.AsyncClient, live_worker: None, db: Database, factory: Factory, runtime: Runtime
) -> None:
    instance = await new_instance(db, factory)
    body = text_message("MEDIA1")
    body["data"]["message"] = {
        "imageMessage": {"mimetype": "image/png", "caption": "comprovante", "fileLength": len(PNG)},
        "base64": base64.b64encode(PNG).decode(),
    }
    body["data"]["messageType"] = "imageMessage"
    assert (await post(client, instance.envelope(body))).status_code == 200
    for _ in range(100):
        stored = await rows(
            db,
            "select media_status, media_path, raw_payload -> 'message' ? 'base64' as has_base64"
            " from evolution_messages where instance_id = :i",
            i=instance.instance_id,
        )
        if stored and stored[0]["media_status"] == "stored":
            break
        await asyncio.sleep(0.1)
    assert stored[0]["media_status"] == "stored", stored
    assert stored[0]["has_base64"] is False
    saved = Path(runtime.settings.media_dir) / stored[0]["media_path"]
    assert saved.read_bytes() == PNG
    assert saved.suffix == ".png"


async def test_the_api_serves_an_attachment_only_to_who_may_see_it(
    client: httpx.AsyncClient, db: Database, factory: Factory, runtime: Runtime
) -> None:
    instance = await new_instance(db, factory)
    key_id = f"APIMEDIA{uuid.uuid4().hex[:10].upper()}"
    body = text_message(key_id, remote_jid="5511987650011@s.whatsapp.net")
    assert (await post(client, instance.envelope(body))).status_code == 200
    [found] = await rows(
        db, "select id, company_id from evolution_messages where key_id = :k", k=key_id
    )
    message_id = found["id"]
    url = f"/api/messages/{message_id}/media"
    supervisor = await login(client, await factory.user(instance.company_id, Role.SUPERVISOR))
    assert (await client.get(url, headers=supervisor)).status_code == 404  # nothing stored yet

    document = b"%PDF-1.7 relatorio"
    path = await build_media_storage(runtime.settings).save(
        found["company_id"], message_id, document, "application/pdf"
    )
    async with db.service_session() as session:
        await session.execute(
            text(
                "update evolution_messages set media_path = :p, media_mimetype = 'text/html',"
                " media_file_name = 'pedido.html', media_status = 'stored' where id = :id"
            ),
            {"p": path, "id": message_id},
        )
    served = await client.get(url, headers=supervisor)
    assert served.status_code == 200
    assert served.content == document
    # A declared type outside the inline list (HTML here) is only ever a download.
    assert served.headers["content-type"] == "application/octet-stream"
    assert served.headers["content-disposition"].startswith('attachment; filename="pedido.html"')
    assert served.headers["x-content-type-options"] == "nosniff"

    colleague = await factory.user(instance.company_id, Role.OPERATOR)
    async with db.service_session() as session:
        await session.execute(
            text(
                "update evolution_conversations set assignee_id = :a"
                " where id = (select conversation_id from evolution_messages where id = :m)"
            ),
            {"a": colleague.id, "m": message_id},
        )
    operator = await login(client, await factory.user(instance.company_id, Role.OPERATOR))
    other_company = await login(client, await factory.user(await factory.company()))
    assert (await client.get(url, headers=operator)).status_code == 404  # not assigned to them
    assert (await client.get(url, headers=other_company)).status_code == 404
    assert (await client.get(url)).status_code == 401


async def test_a_stored_attachment_reaches_open_chats_and_the_cached_copy(
    live_server: str, live_worker: None, db: Database, factory: Factory, runtime: Runtime
) -> None:
    instance = await new_instance(db, factory)
    supervisor = await factory.user(instance.company_id, Role.SUPERVISOR)
    body = text_message("MEDIALIVE1")
    body["data"]["message"] = {
        "imageMessage": {"mimetype": "image/png", "fileLength": len(PNG)},
        "base64": base64.b64encode(PNG).decode(),
    }
    body["data"]["messageType"] = "imageMessage"
    async with httpx.AsyncClient(base_url=live_server, timeout=10) as http:
        reader = SseReader(http, await token_headers(http, supervisor))
        try:
            await asyncio.wait_for(reader.ready.wait(), 10)
            assert (await post(http, instance.envelope(body))).status_code == 200
            async with asyncio.timeout(15):
                while not [e for e in reader.events if e["type"] == "message.media"]:  # noqa: ASYNC110
                    await asyncio.sleep(0.05)
        finally:
            await reader.close()
    [media_event] = [e for e in reader.events if e["type"] == "message.media"]
    message = media_event["data"]["message"]
    assert message["media"]["status"] == "stored"
    snapshot = await runtime.redis.get(cache.message_key(message["id"]))
    assert snapshot is not None
    assert orjson.loads(snapshot)["media"]["status"] == "stored"
