"""The pane of a chat that left its reader's sight (inbox.chat_left), asked for by the page when
its live stream says so: nothing while the reader still sees the chat, otherwise where it went
(as far as the reader may know) with the unsent draft, escaped."""

from __future__ import annotations

import httpx

from tests.conftest import Factory
from tests.web.conftest import Browser, new_company_chat, panel_login
from zapcrm.db import Database
from zapcrm.models import Role


async def test_the_pane_says_the_chat_left_only_once_the_reader_may_not_see_it(
    new_browser: Browser, client: httpx.AsyncClient, db: Database, factory: Factory
) -> None:
    chat = await new_company_chat(client, db, factory, text_body="Tem em azul?")
    company_id = chat.instance.company_id
    reader = await new_browser()
    csrf = await panel_login(reader, await factory.user(company_id, Role.OPERATOR))
    colleague = await new_browser()
    colleague_csrf = await panel_login(colleague, await factory.user(company_id, Role.OPERATOR))
    url = f"/panel/conversations/{chat.conversation_id}/left"
    page = f"http://zapcrm.test/panel/inbox/{chat.conversation_id}?tab=unassigned&status=open"
    headers = {"X-CSRF-Token": csrf, "HX-Request": "true", "HX-Current-URL": page}

    still_seen = await reader.post(url, data={"text": "Temos sim"}, headers=headers)
    assert still_seen.status_code == 204, still_seen.text

    taken = await colleague.post(
        f"/panel/conversations/{chat.conversation_id}/assign",
        data={"assignee": "me"},
        headers={"X-CSRF-Token": colleague_csrf, "HX-Request": "true"},
    )
    assert taken.status_code == 200, taken.text
    left = await reader.post(url, data={"text": "Temos <b>sim</b>"}, headers=headers)
    assert left.status_code == 200, left.text
    assert "Esta conversa saiu da sua lista" in left.text
    assert "Temos &lt;b&gt;sim&lt;/b&gt;</textarea>" in left.text
    assert 'href="/panel/inbox?tab=unassigned&amp;status=open"' in left.text
    assert left.headers["HX-Push-Url"] == "/panel/inbox?tab=unassigned&status=open"

    no_token = await reader.post(url, data={"text": ""}, headers={"HX-Request": "true"})
    assert no_token.status_code == 403, no_token.text
