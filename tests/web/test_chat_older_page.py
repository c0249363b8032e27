"""The chat's older page (inbox.older_messages) and the latest page share the notes between
them: each note shows exactly once, also one written between the last message of the older page
and the first of the page after it, one written at the very moment of a page's oldest message,
and however many notes a page's span holds."""

from __future__ import annotations

import re
import time
import uuid

import httpx
from sqlalchemy import text

from tests.conftest import Factory
from tests.evolution.harness import Instance, new_instance, post, rows, text_message
from tests.web.conftest import Browser, panel_login
from zapcrm.db import Database
from zapcrm.models import Role
from zapcrm.web.pages.inbox.chat import CHAT_PAGE_SIZE

OLDER = re.compile(r'/older\?cursor=([^"]+)"')


async def _chat_of_two_pages(
    client: httpx.AsyncClient, db: Database, factory: Factory
) -> tuple[Instance, uuid.UUID, int]:
    """A chat of one message more than a page, ten seconds apart from `start` (the instance,
    the conversation's id and `start`): message 0 is the older page's, 1 the latest's oldest."""
    instance = await new_instance(db, factory)
    start = int(time.time()) - 3600
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
    return instance, found[0]["id"], start


async def _both_pages(
    http: httpx.AsyncClient, conversation_id: uuid.UUID
) -> tuple[httpx.Response, httpx.Response]:
    """The chat's latest page and the older page its scroll loads."""
    latest = await http.get(f"/panel/inbox/{conversation_id}")
    assert latest.status_code == 200, latest.text
    cursor = OLDER.search(latest.text)
    assert cursor, latest.text
    older = await http.get(f"/panel/conversations/{conversation_id}/older?cursor={cursor[1]}")
    assert older.status_code == 200, older.text
    assert "mensagem 0<" in older.text
    assert "mensagem 0<" not in latest.text
    return latest, older


def _shown(page: httpx.Response, note: str) -> int:
    return page.text.count(f'<p class="body">{note}</p>')


async def test_every_note_shows_once_across_the_latest_and_the_older_page(
    new_browser: Browser, client: httpx.AsyncClient, db: Database, factory: Factory
) -> None:
    instance, conversation_id, start = await _chat_of_two_pages(client, db, factory)
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

    latest, older = await _both_pages(http, conversation_id)
    for note in written:
        assert _shown(latest, note) + _shown(older, note) == 1, note
    assert _shown(latest, "nota mais recente") == 1
    # Read in the chat's order: before the first message, and between it and the next one.
    assert older.text.index("nota antes de tudo") < older.text.index("mensagem 0<")
    assert older.text.index("mensagem 0<") < older.text.index("nota entre as páginas")


async def test_a_page_shows_every_note_of_its_span_however_many(
    new_browser: Browser, client: httpx.AsyncClient, db: Database, factory: Factory
) -> None:
    """120 notes among the latest page's messages and 600 before the first message: each page
    shows all of its own (no cap drops the oldest), the note written at the very moment of the
    latest page's oldest message on that page only."""
    instance, conversation_id, start = await _chat_of_two_pages(client, db, factory)
    # The latest page's span: from message 1 (at start + 10, the first note exactly then) on.
    # The older page's: everything before message 1 (the first of these at message 0's moment).
    spans = {"recente": (start + 10, 3, 120), "antiga": (start, -1, 600)}
    async with db.engine.begin() as connection:
        for name, (first, step, count) in spans.items():
            await connection.execute(
                text(
                    "insert into conversation_notes (company_id, conversation_id, body, created_at)"
                    " select :company, :conversation, 'nota ' || cast(:name as text) || ' ' || n,"
                    " to_timestamp(:first + n * :step) from generate_series(0, :count - 1) n"
                ),
                {
                    "company": instance.company_id,
                    "conversation": conversation_id,
                    "name": name,
                    "first": first,
                    "step": step,
                    "count": count,
                },
            )
    http = await new_browser()
    await panel_login(http, await factory.user(instance.company_id, Role.OPERATOR))

    latest, older = await _both_pages(http, conversation_id)
    for name, (_, _, count) in spans.items():
        own, other = (latest, older) if name == "recente" else (older, latest)
        for n in range(count):
            note = f"nota {name} {n}"
            assert (_shown(own, note), _shown(other, note)) == (1, 0), note
    # Written at the boundary: beside the latest page's oldest message, written at that moment.
    boundary = latest.text.index("nota recente 0<")
    assert latest.text.index("mensagem 1<") < boundary < latest.text.index("mensagem 2<")
