"""Media arriving as base64 inside the webhook is stored and removed from `raw_payload`."""

from __future__ import annotations

import asyncio
import base64
from pathlib import Path

import httpx

from tests.conftest import Factory
from tests.evolution.harness import new_instance, post, rows, text_message
from zapcrm.db import Database
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
