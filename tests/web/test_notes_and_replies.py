"""Private notes and quick replies in the chat, and the quick-reply admin page."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime

import httpx

from tests.conftest import Factory, UserFixture, identity_of
from tests.evolution.harness import rows
from tests.web.conftest import Browser, new_company_chat, panel_login
from zapcrm.db import Database
from zapcrm.messaging.schemas import NoteOut
from zapcrm.models import Role
from zapcrm.web.dependencies import PanelUser
from zapcrm.web.pages.events import PageView
from zapcrm.web.sessions import PanelSession
from zapcrm.web.views import Agents, InboxFilter


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


def _controls(html: str, note_id: str) -> tuple[bool, bool]:
    """Whether a note's bubble in the page offers (edit, delete)."""
    bubble = re.search(rf'<article id="note-{note_id}".*?</article>', html, re.S)
    assert bubble, html
    return (
        f'hx-post="/panel/notes/{note_id}"' in bubble.group(0),
        f'hx-post="/panel/notes/{note_id}/delete"' in bubble.group(0),
    )


async def test_a_note_is_edited_and_deleted_from_its_bubble_by_whoever_may(
    new_browser: Browser, client: httpx.AsyncClient, db: Database, factory: Factory
) -> None:
    chat = await new_company_chat(client, db, factory, text_body="posso pagar no pix?")
    author, colleague, supervisor = [
        await factory.user(chat.instance.company_id, role)
        for role in (Role.OPERATOR, Role.OPERATOR, Role.SUPERVISOR)
    ]
    browsers = {}
    for user in (author, colleague, supervisor):
        http = await new_browser()
        csrf = await panel_login(http, user)
        browsers[user.id] = (http, {"X-CSRF-Token": csrf, "HX-Request": "true"})
    http, headers = browsers[author.id]
    saved = await http.post(
        f"/panel/conversations/{chat.conversation_id}/notes",
        data={"text": "Pix liberado"},
        headers=headers,
    )
    note_id = re.search(r'id="note-([0-9a-f-]{36})"', saved.text).group(1)  # type: ignore[union-attr]
    assert _controls(saved.text, note_id) == (True, True)
    page_url = f"/panel/inbox/{chat.conversation_id}"
    # The chat is unassigned: the colleague reads the note but gets no controls on it.
    for user, expected in ((author, (True, True)), (colleague, (False, False)),
                           (supervisor, (True, True))):  # fmt: skip
        page = await browsers[user.id][0].get(page_url)
        assert _controls(page.text, note_id) == expected, user.role

    other, other_headers = browsers[colleague.id]
    refused = await other.post(
        f"/panel/notes/{note_id}", data={"text": "intrusa"}, headers=other_headers
    )
    assert refused.status_code == 403
    assert refused.headers["HX-Retarget"] == "#toast"
    assert (
        await other.post(f"/panel/notes/{note_id}/delete", headers=other_headers)
    ).status_code == 403
    forged = await http.post(
        f"/panel/notes/{note_id}", data={"text": "x"}, headers={"HX-Request": "true"}
    )
    assert forged.status_code == 403

    edited = await http.post(
        f"/panel/notes/{note_id}", data={"text": "Pix liberado <até 18h>"}, headers=headers
    )
    assert edited.status_code == 200, edited.text
    assert f'id="note-{note_id}"' in edited.text
    assert "Pix liberado &lt;até 18h&gt;" in edited.text
    assert 'class="edited"' in edited.text
    boss, boss_headers = browsers[supervisor.id]
    removed = await boss.post(f"/panel/notes/{note_id}/delete", headers=boss_headers)
    assert removed.status_code == 200
    assert removed.text == ""  # swapped in place of the bubble: it disappears
    assert await rows(db, "select id from conversation_notes where id = :id", id=note_id) == []
    assert f"note-{note_id}" not in (await http.get(page_url)).text


def _page_user(user: UserFixture) -> PanelUser:
    identity = identity_of(user, display_name=user.role.value)
    return PanelUser(identity, PanelSession("s", "a", "r", 0.0, "csrf"))


async def test_open_chats_redraw_an_edited_note_in_place_and_drop_a_deleted_one(
    factory: Factory,
) -> None:
    company_id = await factory.company()
    author = await factory.user(company_id, Role.OPERATOR)
    reader = await factory.user(company_id, Role.OPERATOR)
    conversation_id = uuid.uuid4()
    note = NoteOut(
        id=uuid.uuid4(),
        conversation_id=conversation_id,
        author_id=author.id,
        author_name="Ana",
        body="Ligar amanhã",
        created_at=datetime.now(UTC),
        edited_at=datetime.now(UTC),
    )
    views = {
        user.id: PageView(
            _page_user(user),
            InboxFilter(),
            conversation_id,
            Agents(by_id={}, active=[]),
            inbox=True,
        )
        for user in (author, reader)
    }
    event = {
        "type": "note.updated",
        "conversation_id": str(conversation_id),
        "data": {"note": note.model_dump(mode="json")},
    }
    html = views[author.id].fragments(event)
    # Replaced where it stands (outerHTML by id), not appended to the end of the chat.
    assert f'<article id="note-{note.id}" class="bubble note"' in html
    assert 'hx-swap-oob="true"' in html
    assert "beforeend:#messages" not in html
    assert _controls(html, str(note.id)) == (True, True)
    assert _controls(views[reader.id].fragments(event), str(note.id)) == (False, False)
    created = views[reader.id].fragments(event | {"type": "note.created"})
    assert "beforeend:#messages" in created

    deleted = {
        "type": "note.deleted",
        "conversation_id": str(conversation_id),
        "data": {"note_id": str(note.id)},
    }
    assert views[reader.id].fragments(deleted) == (
        f'<div id="note-{note.id}" hx-swap-oob="delete" data-gone="note-{note.id}"></div>'
    )
    elsewhere = deleted | {"conversation_id": str(uuid.uuid4())}
    assert views[reader.id].fragments(elsewhere) == ""
