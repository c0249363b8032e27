"""The chat header's "Baixar" menu: the chat as a text file, with or without the internal
notes, for whoever may read the chat and nobody else."""

from __future__ import annotations

import httpx

from tests.conftest import Factory
from tests.messaging.test_transcript import EXPECTED, NOTE, body_lines, seeded_chat
from tests.web.conftest import Browser, panel_login
from zapcrm.db import Database
from zapcrm.models import Role


async def test_the_chat_offers_its_transcript_and_the_panel_serves_it(
    client: httpx.AsyncClient, new_browser: Browser, db: Database, factory: Factory
) -> None:
    chat, _supervisor, olga = await seeded_chat(client, db, factory)
    http = await new_browser()
    await panel_login(http, olga)
    page = (await http.get(f"/panel/inbox/{chat.conversation_id}")).text
    link = f'href="/panel/conversations/{chat.conversation_id}/transcript.txt"'
    assert f"{link} download>Conversa (.txt)</a>" in page
    assert f'{link[:-1]}?notes=true" download>' in page
    plain = await http.get(f"/panel/conversations/{chat.conversation_id}/transcript.txt")
    assert body_lines(plain) == EXPECTED
    noted = await http.get(
        f"/panel/conversations/{chat.conversation_id}/transcript.txt", params={"notes": "true"}
    )
    assert NOTE in body_lines(noted)

    colleague = await new_browser()
    await panel_login(colleague, await factory.user(chat.instance.company_id, Role.OPERATOR))
    refused = await colleague.get(f"/panel/conversations/{chat.conversation_id}/transcript.txt")
    assert refused.status_code == 404
