"""Attachments in the panel: inline only for safe previewable types, downloads otherwise, and
only for people who may see the message."""

from __future__ import annotations

import uuid

import httpx
from sqlalchemy import text

from tests.conftest import Factory
from tests.evolution.harness import rows
from tests.web.conftest import Browser, new_company_chat, panel_login
from zapcrm.db import Database
from zapcrm.messaging.media import build_media_storage
from zapcrm.models import Role
from zapcrm.runtime import Runtime


async def _attach(
    db: Database, runtime: Runtime, message_id: uuid.UUID, data: bytes, mimetype: str, name: str
) -> None:
    found = await rows(
        db, "select company_id from evolution_messages where id = :id", id=message_id
    )
    key = await build_media_storage(runtime.settings).save(
        found[0]["company_id"], message_id, data, mimetype
    )
    async with db.service_session() as session:
        await session.execute(
            text(
                "update evolution_messages set media_path = :key, media_mimetype = :mime,"
                " media_file_name = :name, media_status = 'stored', type = 'document'"
                " where id = :id"
            ),
            {"key": key, "mime": mimetype, "name": name, "id": message_id},
        )


async def test_attachments_are_served_safely_and_only_to_who_may_see_them(
    new_browser: Browser,
    client: httpx.AsyncClient,
    db: Database,
    factory: Factory,
    runtime: Runtime,
) -> None:
    chat = await new_company_chat(client, db, factory)
    message_id = (
        await rows(
            db,
            "select id from evolution_messages where conversation_id = :c",
            c=chat.conversation_id,
        )
    )[0]["id"]
    supervisor = await factory.user(chat.instance.company_id, Role.SUPERVISOR)
    http = await new_browser()
    await panel_login(http, supervisor)

    png = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32
    await _attach(db, runtime, message_id, png, "image/png", "foto.png")
    image = await http.get(f"/panel/media/{message_id}")
    assert image.status_code == 200
    assert image.content == png
    assert image.headers["content-type"] == "image/png"
    assert image.headers["content-disposition"].startswith("inline;")
    assert "sandbox" in image.headers["content-security-policy"]
    assert image.headers["x-content-type-options"] == "nosniff"

    svg = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'
    await _attach(db, runtime, message_id, svg, "image/svg+xml", 'relatório "final".svg')
    hostile = await http.get(f"/panel/media/{message_id}")
    assert hostile.headers["content-type"] == "application/octet-stream"
    disposition = hostile.headers["content-disposition"]
    assert disposition.startswith("attachment;")
    assert "filename*=UTF-8''relat%C3%B3rio%20%22final%22.svg" in disposition
    assert 'filename="relat_rio _final_.svg"' in disposition

    page = await http.get(f"/panel/inbox/{chat.conversation_id}")
    assert f'href="/panel/media/{message_id}" download' in page.text

    colleague = await factory.user(chat.instance.company_id, Role.OPERATOR)
    async with db.service_session() as session:
        await session.execute(
            text("update evolution_conversations set assignee_id = :a where id = :id"),
            {"a": colleague.id, "id": chat.conversation_id},
        )
    operator = await new_browser()
    await panel_login(operator, await factory.user(chat.instance.company_id, Role.OPERATOR))
    assert (await operator.get(f"/panel/media/{message_id}")).status_code == 404
    assert (await http.get(f"/panel/media/{uuid.uuid4()}")).status_code == 404
    anonymous = await new_browser()
    assert (await anonymous.get(f"/panel/media/{message_id}")).status_code == 303


async def test_the_composer_sends_a_file_and_refuses_what_it_may_not(
    new_browser: Browser,
    client: httpx.AsyncClient,
    db: Database,
    factory: Factory,
) -> None:
    chat = await new_company_chat(client, db, factory)
    operator = await factory.user(chat.instance.company_id, Role.OPERATOR)
    http = await new_browser()
    csrf = await panel_login(http, operator)
    headers = {"X-CSRF-Token": csrf, "HX-Request": "true"}
    url = f"/panel/conversations/{chat.conversation_id}/media"
    png = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
    sent = await http.post(
        url,
        data={"type": "image", "caption": "Olha a <foto>"},
        files={"file": ("bolo.png", png, "image/png")},
        headers=headers,
    )
    assert sent.status_code == 200, sent.text
    assert 'class="bubble out' in sent.text
    assert "Olha a &lt;foto&gt;" in sent.text
    stored = await rows(
        db,
        "select type, media_mimetype, status from evolution_messages"
        " where conversation_id = :c and from_me",
        c=chat.conversation_id,
    )
    assert stored == [{"type": "image", "media_mimetype": "image/png", "status": "queued"}]
    lying = await http.post(
        url,
        data={"type": "image"},
        files={"file": ("virus.png", b"MZ\x90\x00" + b"\x00" * 64, "image/png")},
        headers=headers,
    )
    assert lying.status_code == 422
    assert lying.headers["HX-Retarget"] == "#toast"
    forged = await http.post(
        url, data={"type": "image"}, files={"file": ("a.png", png, "image/png")}
    )
    assert forged.status_code == 403
