"""Private notes and quick replies in the chat, and the quick-reply admin page."""

from __future__ import annotations

import httpx

from tests.conftest import Factory
from tests.evolution.harness import rows
from tests.web.conftest import Browser, new_company_chat, panel_login
from zapcrm.db import Database
from zapcrm.models import Role


async def test_a_note_is_saved_shown_apart_and_never_queued(
    new_browser: Browser, client: httpx.AsyncClient, db: Database, factory: Factory
) -> None:
    chat = await new_company_chat(client, db, factory, text_body="quero trocar o tamanho")
    operator = await factory.user(chat.instance.company_id, Role.OPERATOR)
    http = await new_browser()
    csrf = await panel_login(http, operator)
    headers = {"X-CSRF-Token": csrf, "HX-Request": "true"}
    saved = await http.post(
        f"/panel/conversations/{chat.conversation_id}/notes",
        data={"text": "Cliente <VIP>: trocar sem custo"},
        headers=headers,
    )
    assert saved.status_code == 200, saved.text
    assert 'class="bubble note"' in saved.text
    assert "Cliente &lt;VIP&gt;: trocar sem custo" in saved.text
    empty = await http.post(
        f"/panel/conversations/{chat.conversation_id}/notes", data={"text": " "}, headers=headers
    )
    assert empty.status_code == 422
    assert await rows(
        db,
        "select count(*) as n from evolution_messages where conversation_id = :c and from_me",
        c=chat.conversation_id,
    ) == [{"n": 0}]
    page = await http.get(f"/panel/inbox/{chat.conversation_id}")
    assert page.text.index("quero trocar o tamanho") < page.text.index("trocar sem custo")
    colleague = await new_browser()
    other_csrf = await panel_login(
        colleague, await factory.user(chat.instance.company_id, Role.OPERATOR)
    )
    await http.post(
        f"/panel/conversations/{chat.conversation_id}/assign",
        data={"assignee": "me"},
        headers=headers,
    )
    hidden = await colleague.post(
        f"/panel/conversations/{chat.conversation_id}/notes",
        data={"text": "intrusa"},
        headers={"X-CSRF-Token": other_csrf},
    )
    assert hidden.status_code == 404


async def test_quick_replies_are_curated_by_supervisors_and_fill_the_composer(
    new_browser: Browser, client: httpx.AsyncClient, db: Database, factory: Factory
) -> None:
    chat = await new_company_chat(client, db, factory)
    supervisor = await factory.user(chat.instance.company_id, Role.SUPERVISOR)
    boss = await new_browser()
    boss_csrf = await panel_login(boss, supervisor)
    created = await boss.post(
        "/panel/admin/quick-replies",
        data={"csrf_token": boss_csrf, "shortcut": "frete", "title": "Frete",
              "body": "Olá, {{primeiro_nome}}! O frete é grátis. <b>{{desconhecida}}</b>"},
    )  # fmt: skip
    assert created.status_code == 303, created.text
    page = await boss.get("/panel/admin/quick-replies")
    assert "/frete" in page.text
    assert "&lt;b&gt;{{desconhecida}}&lt;/b&gt;" in page.text
    taken = await boss.post(
        "/panel/admin/quick-replies",
        data={"csrf_token": boss_csrf, "shortcut": "/FRETE", "title": "x", "body": "y"},
    )
    assert taken.status_code == 409

    operator = await factory.user(chat.instance.company_id, Role.OPERATOR)
    http = await new_browser()
    csrf = await panel_login(http, operator)
    assert (await http.get("/panel/admin/quick-replies")).status_code == 404
    chat_page = await http.get(f"/panel/inbox/{chat.conversation_id}")
    assert "/frete — Frete" in chat_page.text
    reply_id = (
        await rows(
            db,
            "select id from quick_replies where shortcut = '/frete' and company_id = :c",
            c=chat.instance.company_id,
        )
    )[0]["id"]
    filled = await http.post(
        f"/panel/conversations/{chat.conversation_id}/quick-replies/{reply_id}",
        headers={"X-CSRF-Token": csrf},
    )
    assert filled.status_code == 200
    assert filled.headers["content-type"].startswith("text/plain")
    assert filled.text == "Olá, Cliente! O frete é grátis. <b>{{desconhecida}}</b>"
