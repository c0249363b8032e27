"""The inbox search lists the internal notes that match under the message hits, escaped, each
leading to its chat."""

from __future__ import annotations

import httpx

from tests.conftest import Factory
from tests.messaging.chats import assign, new_chat
from tests.messaging.test_note_search import note
from tests.web.conftest import Browser, panel_login
from zapcrm.db import Database
from zapcrm.models import Role


async def test_the_panel_lists_matching_notes_under_the_message_hits(
    client: httpx.AsyncClient, new_browser: Browser, db: Database, factory: Factory
) -> None:
    chat = await new_chat(client, db, factory, "NOTESEARCH-3")
    olga = await factory.user(chat.instance.company_id, Role.OPERATOR)
    await assign(db, chat.conversation_id, olga.id)
    await note(db, chat, olga, "Prefere <i>boleto</i> para pagamento", 1)
    http = await new_browser()
    await panel_login(http, olga)
    page = (await http.get("/panel/search/messages", params={"q": "boleto"})).text
    notes = page.split("Notas internas", 1)[1]
    assert f'href="/panel/inbox/{chat.conversation_id}"' in notes
    assert "&lt;i&gt;<mark>boleto</mark>&lt;/i&gt;" in notes
    assert "<i>boleto" not in notes
    nothing = (await http.get("/panel/search/messages", params={"q": "pix"})).text
    assert "Notas internas" not in nothing
