"""A queued send's announcement carries its message and chat as committed (cache.copies),
published right after the commit: the incoming worker writes the caches and publishes the live
event from them without reading Postgres, and they are what a read after the commit gives. The
outbox row keeps none of it: a late copy (the relay's, a retried or redelivered job) is read
again. The send worker's "sent" is cached and published by that worker itself, as committed,
its writes after the key's included (test_sent_announcement.py for the rest of it).
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import create_async_engine

from tests.conftest import Factory
from tests.evolution.harness import rows
from tests.messaging.chats import cached_message, published, queued_text, read_back, store_echo
from zapcrm.db import Database
from zapcrm.evolution.credentials import CredentialBox
from zapcrm.messaging import cache
from zapcrm.messaging.changes import conversation_changed
from zapcrm.messaging.jobs import IncomingHandler
from zapcrm.messaging.sending import OutgoingHandler
from zapcrm.messaging.service.outbound import OUTGOING_STREAM
from zapcrm.models import Role
from zapcrm.outbox import INCOMING_STREAM, OutboxItem, record
from zapcrm.runtime import Runtime
from zapcrm.worker import Job


def _announcement(items: list[OutboxItem]) -> dict[str, Any]:
    """The send's announcement as published right after its commit."""
    [announced] = [item for item in items if item.stream == INCOMING_STREAM]
    return {**announced.payload, **(announced.after_commit or {})}


def _without_copies(payload: Mapping[str, Any]) -> dict[str, Any]:
    return {
        name: value
        for name, value in payload.items()
        if name not in (cache.CARRIED_MESSAGE_FIELD, cache.CARRIED_CONVERSATION_FIELD)
    }


@pytest.fixture
async def no_postgres() -> AsyncIterator[Database]:
    """A database nothing listens for: any read fails at once."""
    engine = create_async_engine("postgresql+psycopg://postgres@127.0.0.1:1/nowhere")
    yield Database(engine)
    await engine.dispose()


async def test_a_queued_send_announces_its_message_and_chat_as_committed(
    client: httpx.AsyncClient, db: Database, factory: Factory
) -> None:
    conversation_id, items = await queued_text(client, db, factory, "Seu pedido saiu")
    announced = _announcement(items)
    as_read = await read_back(db, announced["message_id"], conversation_id)
    assert announced[cache.CARRIED_MESSAGE_FIELD] == as_read["message"]
    assert announced[cache.CARRIED_CONVERSATION_FIELD] == as_read["conversation"]
    assert as_read["conversation"]["last_message_id"] == announced["message_id"]


async def test_the_worker_writes_and_announces_the_copies_without_reading_postgres(
    client: httpx.AsyncClient,
    db: Database,
    factory: Factory,
    runtime: Runtime,
    no_postgres: Database,
) -> None:
    conversation_id, items = await queued_text(client, db, factory, "Chega amanhã")
    announced = _announcement(items)
    message_id = announced["message_id"]
    await runtime.redis.delete(cache.message_key(message_id))

    carried = await published(
        runtime,
        announced["company_id"],
        lambda: IncomingHandler(no_postgres, runtime.redis)(
            [Job(INCOMING_STREAM, "1-0", announced)]
        ),
    )

    as_read = await read_back(db, message_id, conversation_id)
    assert await cached_message(runtime, message_id) == as_read["message"]
    # The panel gets the event a read would have made, to the same audience.
    read = await published(
        runtime,
        announced["company_id"],
        lambda: IncomingHandler(db, runtime.redis)(
            [Job(INCOMING_STREAM, "2-0", _without_copies(announced))]
        ),
    )
    assert carried == read
    assert [event["type"] for event in carried] == ["message.created"]
    assert carried[0]["data"] == as_read


async def test_a_newer_change_announced_in_the_same_batch_wins_over_a_copy(
    client: httpx.AsyncClient, db: Database, factory: Factory, runtime: Runtime
) -> None:
    """The chat changed after the send (a transfer): its announcement is read, and the newer
    version is what the cache keeps and the send's event shows."""
    conversation_id, items = await queued_text(client, db, factory, "Já te passo para o financeiro")
    announced = _announcement(items)
    supervisor = await factory.user(uuid.UUID(announced["company_id"]), Role.SUPERVISOR)
    async with db.service_session() as session:
        await session.execute(
            text("update evolution_conversations set assignee_id = :a where id = :id"),
            {"a": supervisor.id, "id": conversation_id},
        )
    transfer = conversation_changed(uuid.UUID(announced["company_id"]), conversation_id).payload

    events = await published(
        runtime,
        announced["company_id"],
        lambda: IncomingHandler(db, runtime.redis)(
            [Job(INCOMING_STREAM, "1-0", announced), Job(INCOMING_STREAM, "2-0", dict(transfer))]
        ),
    )

    newest = (await read_back(db, announced["message_id"], conversation_id))["conversation"]
    assert newest["version"] > announced[cache.CARRIED_CONVERSATION_FIELD]["version"]
    assert newest["assignee_id"] == str(supervisor.id)
    assert [event["data"]["conversation"] for event in events] == [newest, newest]
    assert events[0]["assignee_id"] == str(supervisor.id)  # its audience, too


async def test_the_sent_announcement_carries_the_row_after_the_statuses_parked_for_it(
    client: httpx.AsyncClient, db: Database, factory: Factory, runtime: Runtime
) -> None:
    """The key's write folds the gateway's echo and then applies a status parked under the key
    in the same transaction: the announcement carries the message as committed, READ."""
    conversation_id, items = await queued_text(client, db, factory, "Pode confirmar?")
    announced = _announcement(items)
    message_id = announced["message_id"]
    # An earlier attempt reached WhatsApp (its echo is stored) and the customer read it (the
    # status waits under the key for a row that has it).
    echo_key = await store_echo(db, message_id)
    async with db.service_session() as session:
        await session.execute(
            text("update evolution_messages set send_attempted_at = :at where id = :id"),
            {"at": datetime.now(UTC) - timedelta(minutes=2), "id": message_id},
        )
        await session.execute(
            text(
                "insert into evolution_pending_updates (company_id, instance_id, key_id, kind,"
                " payload) select company_id, instance_id, :key, 'status', '{\"status\": \"READ\"}'"
                " from evolution_messages where id = :id"
            ),
            {"id": message_id, "key": echo_key},
        )
    [job] = [dict(item.payload) for item in items if item.stream == OUTGOING_STREAM]

    # Adopts the echo: no gateway call (the instance has no server behind it).
    handler = OutgoingHandler(runtime, CredentialBox.from_settings(runtime.settings))
    events = await published(
        runtime, announced["company_id"], lambda: handler(Job(OUTGOING_STREAM, "1-0", job))
    )

    [sent] = [event for event in events if event["type"] == "message.sent"]
    as_read = await read_back(db, message_id, conversation_id)
    assert as_read["message"]["status"] == "READ"
    assert as_read["message"]["key_id"] == echo_key
    assert sent["data"]["message"] == as_read["message"]
    assert sent["data"]["conversation"] == as_read["conversation"]
    assert await cached_message(runtime, message_id) == as_read["message"]


async def test_an_announcement_without_readable_copies_is_read(
    client: httpx.AsyncClient, db: Database, factory: Factory, runtime: Runtime
) -> None:
    """A relayed outbox row of the send worker has no copies, and a copy this release cannot
    read is no copy: Postgres answers, and a stale cache heals."""
    conversation_id, items = await queued_text(client, db, factory, "Tudo certo?")
    announced = _announcement(items)
    message_id = announced["message_id"]
    await runtime.redis.set(cache.message_key(message_id), b'{"version": 0}')
    broken = {**announced, cache.CARRIED_MESSAGE_FIELD: {"id": message_id, "version": "x"}}
    del broken[cache.CARRIED_CONVERSATION_FIELD]

    await IncomingHandler(db, runtime.redis)([Job(INCOMING_STREAM, "1-0", broken)])

    as_read = await read_back(db, message_id, conversation_id)
    assert await cached_message(runtime, message_id) == as_read["message"]


async def test_the_outbox_row_keeps_no_copies_and_a_late_delivery_reads(
    client: httpx.AsyncClient,
    db: Database,
    factory: Factory,
    runtime: Runtime,
    no_postgres: Database,
) -> None:
    """What the relay would publish has no copies; a job delivered again (a failed batch, a
    worker that died) may come after the cache lost a newer copy, so it reads too."""
    conversation_id, items = await queued_text(client, db, factory, "Obrigado!")
    announced = _announcement(items)
    company_id = uuid.UUID(announced["company_id"])
    async with db.service_session() as session:
        [entry] = await record(session, company_id, [item for item in items if item.after_commit])
    assert entry.payload == announced
    [stored] = await rows(db, "delete from outbox where id = :id returning payload", id=entry.id)
    assert stored["payload"] == _without_copies(announced)

    again = Job(INCOMING_STREAM, "2-0", announced, attempt=1)
    with pytest.raises(OperationalError):
        await IncomingHandler(no_postgres, runtime.redis)([again])
    await IncomingHandler(db, runtime.redis)([again])
    as_read = await read_back(db, announced["message_id"], conversation_id)
    assert await cached_message(runtime, announced["message_id"]) == as_read["message"]
