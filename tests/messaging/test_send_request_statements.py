"""A person's plain text is queued in one statement: the send request's reads of the chat (its
visibility under RLS, its instance and number) and of the company's signature setting are part
of the insert. The request's other statements (the tenant switch, the outbox entries) are the
transaction's, not the service's.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import psycopg
import pytest
from sqlalchemy import text

from tests.conftest import Factory
from tests.evolution.harness import rows
from tests.messaging.chats import acting_as, new_chat
from zapcrm.db import Database
from zapcrm.exceptions import NotFound
from zapcrm.messaging.service import outbound
from zapcrm.models import Role


@asynccontextmanager
async def _counted(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[list[str]]:
    """The statements sent to Postgres meanwhile (every path goes through psycopg's cursor)."""
    sent: list[str] = []
    execute = psycopg.AsyncCursor.execute

    async def counting(self: psycopg.AsyncCursor[Any], query: Any, *args: Any, **kw: Any) -> Any:
        sent.append(str(query))
        return await execute(self, query, *args, **kw)

    with monkeypatch.context() as patch:
        patch.setattr(psycopg.AsyncCursor, "execute", counting)
        yield sent


async def _signing(db: Database, company_id: uuid.UUID, signs: bool) -> None:
    async with db.service_session() as session:
        await session.execute(
            text("update companies set sign_messages = :signs where id = :id"),
            {"signs": signs, "id": company_id},
        )


@pytest.mark.parametrize("signs", [False, True])
async def test_a_plain_text_is_queued_in_one_statement(
    client: httpx.AsyncClient,
    db: Database,
    factory: Factory,
    monkeypatch: pytest.MonkeyPatch,
    signs: bool,
) -> None:
    chat = await new_chat(client, db, factory, phone=f"55119{uuid.uuid4().int % 10**8:08d}")
    await _signing(db, chat.instance.company_id, signs)
    actor = acting_as(await factory.user(chat.instance.company_id, Role.OPERATOR))

    async with db.tenant_session(actor.claims) as session:
        await session.execute(
            text("update evolution_conversations set assignee_id = :me where id = :id"),
            {"me": actor.user_id, "id": chat.conversation_id},
        )
        async with _counted(monkeypatch) as sent:
            message, items = await outbound.queue_text(
                session, actor, chat.conversation_id, text="  Seu pedido saiu  "
            )

    assert len(sent) == 1
    [row] = await rows(
        db,
        "select m.body, m.outgoing, m.instance_id, m.remote_jid, c.remote_jid as chat_jid,"
        " c.last_message_id from evolution_messages m"
        " join evolution_conversations c on c.id = m.conversation_id where m.id = :id",
        id=message.id,
    )
    signed = f"*{actor.display_name}:*\nSeu pedido saiu" if signs else "Seu pedido saiu"
    assert row["body"] == message.body == "Seu pedido saiu"
    assert row["outgoing"] == {"kind": "text", "text": signed}
    assert row["instance_id"] == chat.instance.instance_id
    assert row["remote_jid"] == row["chat_jid"]
    assert row["last_message_id"] == message.id
    [job] = [item.payload for item in items if item.stream == outbound.OUTGOING_STREAM]
    assert job == {"message_id": str(message.id), "instance_id": str(chat.instance.instance_id)}


async def test_a_chat_the_sender_may_not_see_is_not_found_and_nothing_is_queued(
    client: httpx.AsyncClient, db: Database, factory: Factory
) -> None:
    chat = await new_chat(client, db, factory, phone=f"55119{uuid.uuid4().int % 10**8:08d}")
    owner = await factory.user(chat.instance.company_id, Role.OPERATOR)
    async with db.service_session() as session:
        await session.execute(
            text("update evolution_conversations set assignee_id = :owner where id = :id"),
            {"owner": owner.id, "id": chat.conversation_id},
        )
    colleague = acting_as(await factory.user(chat.instance.company_id, Role.OPERATOR))

    with pytest.raises(NotFound):
        async with db.tenant_session(colleague.claims) as session:
            await outbound.queue_text(session, colleague, chat.conversation_id, text="Oi")

    assert await rows(
        db,
        "select count(*) as n from evolution_messages where conversation_id = :c and from_me",
        c=chat.conversation_id,
    ) == [{"n": 0}]
