"""The chat's older page (inbox.older_messages) and the latest page share the notes between
them: each note shows exactly once, also one written between the last message of the older page
and the first of the page after it."""

from __future__ import annotations

import re
import time
import uuid

import httpx
from sqlalchemy import text

from tests.conftest import Factory
from tests.evolution.harness import new_instance, post, rows, text_message
from tests.web.conftest import Browser, panel_login
from zapcrm.db import Database
from zapcrm.models import Role
from zapcrm.web.pages.inbox import CHAT_PAGE_SIZE

OLDER = re.compile(r'/older\?cursor=([^"]+)"')


async def test_every_note_shows_once_across_the_latest_and_the_older_page(
    new_browser: Browser, client: httpx.AsyncClient, db: Database, factory: Factory
) -> None:
    instance = await new_instance(db, factory)
    start = int(time.time()) - 3600
    # One message more than a page, ten seconds apart: the first one is the older page's.
    for n in range(CHAT_PAGE_SIZE + 1):
        body = text_message(
            f"K{n:03d}{uuid.uuid4().hex[:12].upper()}",
            remote_jid="5511987650001@s.whatsapp.net",
            text_body=f"mensagem {n}",
            timestamp=start + n * 10,
        )
        assert (await post(client, instance.envelope(body))).status_code == 200
    found = await rows(
        db,
        "select id from evolution_conversations where instance_id = :i",
        i=instance.instance_id,
    )
    conversation_id = found[0]["id"]
    http = await new_browser()
    csrf = await panel_login(http, await factory.user(instance.company_id, Role.OPERATOR))
    headers = {"X-CSRF-Token": csrf, "HX-Request": "true"}
    # Notes written before the first message, between the pages' messages, and later.
    written = {"nota antes de tudo": -5, "nota entre as páginas": 5, "nota mais recente": 205}
    for note, offset in written.items():
        saved = await http.post(
            f"/panel/conversations/{conversation_id}/notes", data={"text": note}, headers=headers
        )
        assert saved.status_code == 200, saved.text
        async with db.engine.begin() as connection:
            await connection.execute(
                text(
                    "update conversation_notes set created_at = to_timestamp(:at) where body = :b"
                ),
                {"at": start + offset, "b": note},
            )

    latest = await http.get(f"/panel/inbox/{conversation_id}")
    assert latest.status_code == 200, latest.text
    cursor = OLDER.search(latest.text)
    assert cursor, latest.text
    older = await http.get(f"/panel/conversations/{conversation_id}/older?cursor={cursor[1]}")
    assert older.status_code == 200, older.text
    assert "mensagem 0<" in older.text
    assert "mensagem 0<" not in latest.text

    def shown(page: httpx.Response, note: str) -> int:
        return page.text.count(f'<p class="body">{note}</p>')

    for note in written:
        assert shown(latest, note) + shown(older, note) == 1, note
    assert shown(latest, "nota mais recente") == 1
    # Read in the chat's order: before the first message, and between it and the next one.
    assert older.text.index("nota antes de tudo") < older.text.index("mensagem 0<")
    assert older.text.index("mensagem 0<") < older.text.index("nota entre as páginas")
