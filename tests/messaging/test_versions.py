"""Row versions keep the Redis snapshots from going back in time.

The incoming-stream batches read rows and write snapshots concurrently, so an older read can be
written last; the cache must keep the newest copy, and a folded message must stay gone.
"""

from __future__ import annotations

import uuid

import httpx
import orjson
from sqlalchemy import text

from tests.conftest import Factory
from tests.evolution.harness import new_instance, post, text_message
from zapcrm.db import Database
from zapcrm.messaging import cache
from zapcrm.messaging.repository import get_conversations, get_messages
from zapcrm.messaging.schemas import ConversationOut, MessageOut
from zapcrm.runtime import Runtime


async def _stored(
    client: httpx.AsyncClient, db: Database, factory: Factory
) -> tuple[MessageOut, ConversationOut]:
    instance = await new_instance(db, factory)
    key_id = f"VERSIONED{uuid.uuid4().hex[:12].upper()}"
    body = text_message(key_id, remote_jid="5511987650001@s.whatsapp.net")
    assert (await post(client, instance.envelope(body))).status_code == 200
    async with db.service_session() as session:
        message_id = (
            await session.execute(
                text("select id from evolution_messages where key_id = :k"), {"k": key_id}
            )
        ).scalar_one()
        [message_row] = await get_messages(session, [message_id])
        [conversation_row] = await get_conversations(session, [message_row["conversation_id"]])
    return cache.message_out(message_row), cache.conversation_out(conversation_row)


async def test_every_update_bumps_the_version(
    client: httpx.AsyncClient, db: Database, factory: Factory
) -> None:
    message, conversation = await _stored(client, db, factory)
    async with db.service_session() as session:
        await session.execute(
            text("update evolution_messages set status = 'READ' where id = :id"),
            {"id": message.id},
        )
        await session.execute(
            text("update evolution_messages set status = 'PLAYED' where id = :id"),
            {"id": message.id},
        )
        await session.execute(
            text("update evolution_conversations set unread_count = 0 where id = :id"),
            {"id": conversation.id},
        )
        [message_row] = await get_messages(session, [message.id])
        [conversation_row] = await get_conversations(session, [conversation.id])
    assert message_row["version"] == message.version + 2
    assert conversation_row["version"] == conversation.version + 1


async def _snapshot(runtime: Runtime, key: str) -> dict[str, object]:
    raw = await runtime.redis.get(key)
    assert raw is not None
    document = orjson.loads(raw)
    assert isinstance(document, dict)
    return document


async def test_an_older_snapshot_written_last_does_not_replace_a_newer_one(
    client: httpx.AsyncClient, db: Database, factory: Factory, runtime: Runtime
) -> None:
    message, _chat = await _stored(client, db, factory)
    newer = message.model_copy(update={"status": "READ", "version": message.version + 3})
    older = message.model_copy(update={"status": "DELIVERY_ACK", "version": message.version + 1})
    async with runtime.redis.pipeline(transaction=False) as pipe:
        cache.write_message(pipe, newer)
        cache.write_message(pipe, older)
        await pipe.execute()
    assert (await _snapshot(runtime, cache.message_key(message.id)))["status"] == "READ"

    # The same version again (a retried batch) and a newer one are both written.
    newest = message.model_copy(update={"status": "PLAYED", "version": message.version + 4})
    async with runtime.redis.pipeline(transaction=False) as pipe:
        cache.write_message(pipe, newest)
        await pipe.execute()
    assert (await _snapshot(runtime, cache.message_key(message.id)))["status"] == "PLAYED"


async def test_a_forgotten_message_is_not_brought_back_by_a_late_write(
    client: httpx.AsyncClient, db: Database, factory: Factory, runtime: Runtime
) -> None:
    message, _ = await _stored(client, db, factory)
    echo = message.model_copy(update={"id": uuid.uuid4(), "key_id": "ECHO1"})
    async with runtime.redis.pipeline(transaction=False) as pipe:
        cache.write_message(pipe, echo)
        await pipe.execute()
    page = cache.page_key(message.conversation_id)
    assert await runtime.redis.zscore(page, str(echo.id)) is not None

    async with runtime.redis.pipeline(transaction=False) as pipe:
        cache.forget_message(pipe, message.conversation_id, echo.id)
        # A batch that read the echo before it was folded writes it after the fold.
        cache.write_message(pipe, echo)
        await pipe.execute()
    assert await runtime.redis.zscore(page, str(echo.id)) is None
    assert (await _snapshot(runtime, cache.message_key(echo.id)))["gone"] is True
