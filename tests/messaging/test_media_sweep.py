"""The orphan media sweep removes only old files no message points at."""

from __future__ import annotations

import os
import time
import uuid
from pathlib import Path

import httpx
from sqlalchemy import text

from tests.conftest import Factory
from tests.evolution.harness import new_instance, post, rows, text_message
from zapcrm.db import Database
from zapcrm.messaging.media import LocalMediaStorage
from zapcrm.messaging.media_sweep import sweep_orphan_media
from zapcrm.runtime import Runtime

AN_HOUR = 3600


def _files(root: Path) -> list[str]:
    return sorted(str(path.relative_to(root)) for path in root.rglob("*") if path.is_file())


def _age(path: Path, seconds: float) -> None:
    then = time.time() - seconds
    os.utime(path, (then, then))


async def test_only_old_files_no_message_uses_are_removed(
    client: httpx.AsyncClient, db: Database, factory: Factory, runtime: Runtime, tmp_path: Path
) -> None:
    storage = LocalMediaStorage(tmp_path)
    instance = await new_instance(db, factory)
    key_id = f"SWEEP{uuid.uuid4().hex[:12].upper()}"
    body = text_message(key_id, remote_jid="5511987650021@s.whatsapp.net")
    assert (await post(client, instance.envelope(body))).status_code == 200
    [message] = await rows(db, "select id from evolution_messages where key_id = :k", k=key_id)
    company = instance.company_id

    used = await storage.save(company, message["id"], b"png", "image/png")
    async with db.service_session() as session:
        await session.execute(
            text("update evolution_messages set media_path = :p where id = :id"),
            {"p": used, "id": message["id"]},
        )
    replaced = await storage.save(company, message["id"], b"old copy", "application/pdf")
    orphan = await storage.save(company, uuid.uuid4(), b"nobody", "image/jpeg")
    fresh = await storage.save(company, uuid.uuid4(), b"row on its way", "image/jpeg")
    dead_write = f"{company}/{uuid.uuid4()}.png.1a2b3c4d.tmp"
    (tmp_path / dead_write).write_bytes(b"half")
    stranger = f"{company}/LEIA-ME.txt"
    (tmp_path / stranger).write_bytes(b"not ours")
    for key in (used, replaced, orphan, dead_write, stranger):
        _age(tmp_path / key, 2 * AN_HOUR)

    counted = await sweep_orphan_media(
        runtime, storage=storage, grace_seconds=AN_HOUR, dry_run=True
    )
    assert (counted.scanned, counted.removed, counted.unknown) == (5, 3, 1)
    assert (tmp_path / orphan).exists()

    swept = await sweep_orphan_media(runtime, storage=storage, grace_seconds=AN_HOUR)
    assert (swept.scanned, swept.removed, swept.unknown) == (5, 3, 1)
    assert _files(tmp_path) == sorted([used, fresh, stranger])
    assert await storage.read(used) == b"png"
