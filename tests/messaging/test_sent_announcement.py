"""The send worker's "sent": cached and published by the worker itself right after the key's
commit, without an outbox row or an incoming-stream entry (sending.py rule 3); its job is what
brings the announcement back when a run died or lost Redis after the commit. And no snapshot of
a chat is cached (nothing read one).
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import text

from tests.conftest import Factory
from tests.evolution.harness import rows
from tests.messaging.chats import (
    cached_message,
    published,
    queued_text,
    read_back,
    store_echo,
    stream_payloads,
)
from zapcrm.db import Database
from zapcrm.evolution.credentials import CredentialBox
from zapcrm.messaging import cache
from zapcrm.messaging.jobs import IncomingHandler
from zapcrm.messaging.repository import outbound as outbound_repo
from zapcrm.messaging.sending import OutgoingHandler
from zapcrm.messaging.service.outbound import OUTGOING_STREAM
from zapcrm.outbox import INCOMING_STREAM, OutboxItem
from zapcrm.runtime import Runtime
from zapcrm.worker import Job


def _job(items: list[OutboxItem]) -> dict[str, Any]:
    [job] = [dict(item.payload) for item in items if item.stream == OUTGOING_STREAM]
    return job


def _company(items: list[OutboxItem]) -> str:
    [announced] = [item for item in items if item.stream == INCOMING_STREAM]
    return str(announced.payload["company_id"])


async def _adoptable(db: Database, message_id: str) -> str:
    """An earlier attempt of the send reached WhatsApp and its echo is stored: the worker
    adopts it without a gateway call (the test instance has no server). Returns its key."""
    echo_key = await store_echo(db, message_id)
    async with db.service_session() as session:
        await session.execute(
            text("update evolution_messages set send_attempted_at = :at where id = :id"),
            {"at": datetime.now(UTC) - timedelta(minutes=2), "id": message_id},
        )
    return echo_key


async def test_the_worker_caches_and_publishes_sent_itself_without_the_outbox(
    client: httpx.AsyncClient, db: Database, factory: Factory, runtime: Runtime
) -> None:
    conversation_id, items = await queued_text(client, db, factory, "Seu boleto chegou")
    job = _job(items)
    message_id = job["message_id"]
    echo_key = await _adoptable(db, message_id)
    [echo] = await rows(db, "select id from evolution_messages where key_id = :k", k=echo_key)
    handler = OutgoingHandler(runtime, CredentialBox.from_settings(runtime.settings))

    events = await published(
        runtime, _company(items), lambda: handler(Job(OUTGOING_STREAM, "1-0", job))
    )

    as_read = await read_back(db, message_id, conversation_id)
    assert as_read["message"]["key_id"] == echo_key
    [sent] = [event for event in events if event["type"] == "message.sent"]
    assert sent["data"]["message"] == as_read["message"]
    assert sent["data"]["conversation"] == as_read["conversation"]
    assert sent["conversation_id"] == str(conversation_id)
    assert await cached_message(runtime, message_id) == as_read["message"]
    # The echo, shown as a message of its own until now, leaves the clients and the cache.
    assert sent["data"]["folded_message_id"] == str(echo["id"])
    assert (await cached_message(runtime, echo["id"]))["gone"] is True
    # Neither an outbox row nor an entry for the incoming worker was written for it.
    assert await rows(
        db,
        "select count(*) as n from outbox where payload ->> 'message_id' = :m"
        " and payload ->> 'change' = 'sent'",
        m=message_id,
    ) == [{"n": 0}]
    assert not [
        payload
        for payload in await stream_payloads(runtime, INCOMING_STREAM)
        if payload.get("message_id") == message_id and payload.get("change") == "sent"
    ]


async def test_a_job_delivered_again_after_its_key_was_attached_announces_again(
    client: httpx.AsyncClient, db: Database, factory: Factory, runtime: Runtime
) -> None:
    """The run that attached the key died (or lost Redis) before announcing: the job, never
    acknowledged, comes back and announces the message as it is now, without sending."""
    conversation_id, items = await queued_text(client, db, factory, "Pedido confirmado")
    job = _job(items)
    message_id = job["message_id"]
    key = f"SENT{uuid.uuid4().hex[:12].upper()}"
    async with db.service_session() as session:
        await outbound_repo.attach_key(
            session,
            message_id=uuid.UUID(message_id),
            conversation_id=conversation_id,
            instance_id=uuid.UUID(job["instance_id"]),
            key_id=key,
            status="PENDING",
        )
    await runtime.redis.delete(cache.message_key(message_id))
    handler = OutgoingHandler(runtime, CredentialBox.from_settings(runtime.settings))

    first = await published(
        runtime, _company(items), lambda: handler(Job(OUTGOING_STREAM, "1-0", job))
    )
    assert first == []  # a first delivery of a job whose message is sent: nothing to repeat
    again = await published(
        runtime, _company(items), lambda: handler(Job(OUTGOING_STREAM, "1-0", job, attempt=1))
    )

    as_read = await read_back(db, message_id, conversation_id)
    assert as_read["message"]["key_id"] == key
    assert [event["type"] for event in again] == ["message.sent"]
    assert again[0]["data"] == as_read
    assert await cached_message(runtime, message_id) == as_read["message"]


async def test_no_snapshot_of_the_chat_is_cached(
    client: httpx.AsyncClient, db: Database, factory: Factory, runtime: Runtime
) -> None:
    """The incoming worker caches the message and publishes the chat with it; the chat's own
    snapshot key (`evolution:conversation:<id>`) was read by nothing and is not written."""
    conversation_id, items = await queued_text(client, db, factory, "Bom dia")
    [announced] = [item for item in items if item.stream == INCOMING_STREAM]
    payload = {**announced.payload, **(announced.after_commit or {})}

    events = await published(
        runtime,
        _company(items),
        lambda: IncomingHandler(db, runtime.redis)([Job(INCOMING_STREAM, "1-0", payload)]),
    )

    as_read = await read_back(db, payload["message_id"], conversation_id)
    assert [event["data"] for event in events] == [as_read]
    assert await cached_message(runtime, payload["message_id"]) == as_read["message"]
    assert not await runtime.redis.exists(f"evolution:conversation:{conversation_id}")
