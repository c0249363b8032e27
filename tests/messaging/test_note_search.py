"""Searching the team's internal notes: accents and case ignored, prefixes match, newest first
in pages, each with its author and chat; only notes of chats the caller may see, never another
company's; the panel lists them under the message hits, escaped."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import text

from tests.conftest import Factory, UserFixture, login
from tests.messaging.chats import Chat, assign, new_chat
from zapcrm.db import Database
from zapcrm.models import Role

START = datetime(2026, 11, 20, 12, tzinfo=UTC)


async def note(db: Database, chat: Chat, author: UserFixture, body: str, minutes: int) -> None:
    async with db.service_session() as session:
        await session.execute(
            text(
                "insert into conversation_notes (company_id, conversation_id, author_id, body,"
                " created_at) select company_id, id, :author, :body, :at"
                " from evolution_conversations where id = :id"
            ),
            {
                "author": author.id,
                "body": body,
                "at": START + timedelta(minutes=minutes),
                "id": chat.conversation_id,
            },
        )


async def search(
    client: httpx.AsyncClient, headers: dict[str, str], **params: str
) -> dict[str, Any]:
    response = await client.get("/api/notes/search", params=params, headers=headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_notes_are_found_by_their_words_in_the_chats_the_reader_may_see(
    client: httpx.AsyncClient, db: Database, factory: Factory
) -> None:
    mine = await new_chat(client, db, factory, "NOTESEARCH-1")
    company = mine.instance.company_id
    olga = await factory.user(company, Role.OPERATOR)
    bia = await factory.user(company, Role.OPERATOR)
    async with db.service_session() as session:
        await session.execute(
            text("update profiles set display_name = 'Olga <b>O</b>' where id = :id"),
            {"id": olga.id},
        )
        other_chat = await session.execute(
            text(
                "insert into evolution_conversations (company_id, instance_id, remote_jid,"
                " assignee_id) values (:c, :i, '5511955550000@s.whatsapp.net', :a) returning id"
            ),
            {"c": company, "i": mine.instance.instance_id, "a": bia.id},
        )
        colleagues = Chat(mine.instance, other_chat.scalar_one())
    await assign(db, mine.conversation_id, olga.id)
    await note(db, mine, olga, "Cliente pediu NOTA FISCAL com CNPJ", 1)
    await note(db, mine, olga, "Ligar amanhã às 10h", 2)
    await note(db, colleagues, bia, "Nota fiscal da Bia", 3)
    stranger = await new_chat(client, db, factory, "NOTESEARCH-2")
    stranger_admin = await factory.user(stranger.instance.company_id, Role.ADMIN)
    await note(db, stranger, stranger_admin, "nota fiscal de outra empresa", 4)

    as_olga = await login(client, olga)
    found = await search(client, as_olga, q="fiscal")
    assert [hit["conversation"]["id"] for hit in found["items"]] == [str(mine.conversation_id)]
    [hit] = found["items"]
    assert hit["author"] == "Olga <b>O</b>"
    assert [part for part in hit["snippet"] if part["match"]] == [{"text": "FISCAL", "match": True}]
    accents = await search(client, as_olga, q="amanha lig")
    assert accents["items"][0]["snippet"][0]["text"] == "Ligar"

    supervisor = await login(client, await factory.user(company, Role.SUPERVISOR))
    everyone = await search(client, supervisor, q="fiscal", limit="1")
    assert everyone["items"][0]["conversation"]["id"] == str(colleagues.conversation_id)
    rest = await search(client, supervisor, q="fiscal", limit="1", cursor=everyone["next_cursor"])
    assert rest["items"][0]["conversation"]["id"] == str(mine.conversation_id)
    assert rest["next_cursor"] is None

    short = await client.get("/api/notes/search", params={"q": "a"}, headers=as_olga)
    assert short.status_code == 422
