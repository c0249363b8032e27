"""Signed messages: with the company's "assinar" on, WhatsApp gets the agent's name in bold
above each text while the chat keeps what was typed; off, the text goes as typed."""

from __future__ import annotations

import httpx
from sqlalchemy import text

from tests.conftest import Factory, UserFixture, login
from tests.evolution.harness import rows
from tests.messaging.chats import Chat, assign, new_chat
from zapcrm.db import Database
from zapcrm.models import Role


async def olga_in_a_chat(
    client: httpx.AsyncClient, db: Database, factory: Factory, key: str, *, signs: bool
) -> tuple[Chat, UserFixture]:
    chat = await new_chat(client, db, factory, key)
    olga = await factory.user(chat.instance.company_id, Role.OPERATOR)
    await assign(db, chat.conversation_id, olga.id)
    async with db.service_session() as session:
        await session.execute(
            text("update profiles set display_name = 'Olga Operadora' where id = :id"),
            {"id": olga.id},
        )
        await session.execute(
            text("update companies set sign_messages = :signs where id = :id"),
            {"signs": signs, "id": chat.instance.company_id},
        )
    return chat, olga


async def sent(db: Database, chat: Chat) -> list[tuple[str, str]]:
    """(body shown in the chat, text queued for WhatsApp) of our messages."""
    found = await rows(
        db,
        "select body, outgoing ->> 'text' as out from evolution_messages"
        " where conversation_id = :c and from_me order by created_at",
        c=chat.conversation_id,
    )
    return [(row["body"], row["out"]) for row in found]


async def test_a_signing_company_sends_the_agents_name_on_top_and_shows_the_text_as_typed(
    client: httpx.AsyncClient, db: Database, factory: Factory
) -> None:
    chat, olga = await olga_in_a_chat(client, db, factory, "SIGN-1", signs=True)
    headers = await login(client, olga)
    url = f"/api/conversations/{chat.conversation_id}/messages"
    response = await client.post(url, json={"text": "Olá! Como posso ajudar?"}, headers=headers)
    assert response.status_code == 202, response.text
    assert response.json()["body"] == "Olá! Como posso ajudar?"
    assert await sent(db, chat) == [
        ("Olá! Como posso ajudar?", "*Olga Operadora:*\nOlá! Como posso ajudar?")
    ]
    too_long = await client.post(url, json={"text": "x" * 4090}, headers=headers)
    assert too_long.status_code == 422
    assert "com a assinatura" in too_long.json()["error"]["message"]


async def test_without_signing_the_text_goes_as_typed(
    client: httpx.AsyncClient, db: Database, factory: Factory
) -> None:
    chat, olga = await olga_in_a_chat(client, db, factory, "SIGN-2", signs=False)
    await client.post(
        f"/api/conversations/{chat.conversation_id}/messages",
        json={"text": "Oi"},
        headers=await login(client, olga),
    )
    assert await sent(db, chat) == [("Oi", "Oi")]
