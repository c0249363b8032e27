"""Retrying a failed send: the same row queued again, only when it cannot be delivered twice,
for whoever may send in the conversation, and checked by the worker like any earlier attempt."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from tests.conftest import Factory, UserFixture, login
from tests.evolution.harness import Instance, rows
from tests.live import SseReader, token_headers
from tests.messaging.chats import (
    acting_as,
    assign,
    new_chat,
    queue_unpublished,
    store_echo,
    stream_payloads,
)
from tests.messaging.gateway import Gateway, count_from_me
from zapcrm.db import Database
from zapcrm.evolution.credentials import CredentialBox
from zapcrm.messaging.repository import outbound as outbound_repo
from zapcrm.messaging.sending import HOLD_LIMIT, MAX_AGE, OutgoingHandler
from zapcrm.messaging.service import outbound
from zapcrm.models import Role
from zapcrm.outbox import INCOMING_STREAM
from zapcrm.runtime import Runtime
from zapcrm.worker import Job, RetryJobLater

OUTGOING_STREAM = "evolution:outgoing-messages"


async def _chat(
    client: httpx.AsyncClient, db: Database, factory: Factory, owner_role: Role = Role.OPERATOR
) -> tuple[Instance, uuid.UUID, UserFixture]:
    """A customer's chat, assigned to a new user of the company."""
    number = f"55119876{uuid.uuid4().int % 100000:05d}"
    chat = await new_chat(client, db, factory, phone=number, push_name="Rita")
    owner = await factory.user(chat.instance.company_id, owner_role)
    await assign(db, chat.conversation_id, owner.id)
    return chat.instance, chat.conversation_id, owner


async def _set(db: Database, message_id: str, sql: str, **params: Any) -> None:
    async with db.service_session() as session:
        await session.execute(
            text(f"update evolution_messages set {sql} where id = :id"),
            {"id": message_id, **params},
        )


async def _failed(
    db: Database,
    owner: UserFixture,
    conversation_id: uuid.UUID,
    words: str,
    *,
    attempted_ago: timedelta | None = timedelta(minutes=20),
) -> tuple[str, datetime | None]:
    """A send the worker gave up on after attempts (or, without `attempted_ago`, before any)."""
    message_id = await queue_unpublished(db, owner, conversation_id, words)
    attempted = None if attempted_ago is None else datetime.now(UTC) - attempted_ago
    await _set(
        db,
        message_id,
        "status = 'ERROR', error_detail = 'a Evolution API recusou o envio',"
        " send_attempts = 3, send_attempted_at = :at",
        at=attempted,
    )
    async with db.service_session() as session:
        await session.execute(
            text(
                "update evolution_conversations set last_message_status = 'ERROR'"
                " where last_message_id = :id"
            ),
            {"id": message_id},
        )
    return message_id, attempted


async def test_a_failed_send_is_queued_again_as_the_same_message(
    client: httpx.AsyncClient, db: Database, factory: Factory, runtime: Runtime
) -> None:
    instance, conversation_id, owner = await _chat(client, db, factory)
    # An attempt 10 s ago: a worker left running by another test waits for its echo and
    # changes nothing while this test looks.
    message_id, attempted = await _failed(
        db, owner, conversation_id, "Segue o boleto", attempted_ago=timedelta(seconds=10)
    )
    headers = await login(client, owner)

    response = await client.post(f"/api/messages/{message_id}/retry", headers=headers)

    assert response.status_code == 202, response.text
    answer = response.json()
    assert (answer["id"], answer["status"], answer["error_detail"]) == (message_id, "queued", None)
    [row] = await rows(
        db,
        "select status, error_detail, send_attempts, send_attempted_at, retried_at"
        " from evolution_messages where id = :id",
        id=message_id,
    )
    assert (row["status"], row["error_detail"], row["send_attempts"]) == ("queued", None, 0)
    # The last attempt's time is the worker's cue to look for its echo first (rule 2).
    assert row["send_attempted_at"] == attempted
    assert row["retried_at"] is not None
    assert await count_from_me(db, conversation_id) == 1
    [conversation] = await rows(
        db, "select last_message_status from evolution_conversations where id = :c",
        c=conversation_id,
    )  # fmt: skip
    assert conversation == {"last_message_status": "queued"}
    outgoing = await stream_payloads(runtime, OUTGOING_STREAM)
    jobs = [p for p in outgoing if p.get("message_id") == message_id]
    # Written to the outbox in the request's transaction (hence its outbox id), then published.
    assert [isinstance(job.pop("outbox_id"), int) for job in jobs] == [True]
    assert jobs == [
        {
            "message_id": message_id,
            "instance_id": str(instance.instance_id),
            "recheck_number": True,
        }
    ]
    incoming = await stream_payloads(runtime, INCOMING_STREAM)
    events = [p for p in incoming if p.get("message_id") == message_id]
    assert [(p["kind"], p["change"]) for p in events] == [("message", "retried")]

    again = await client.post(f"/api/messages/{message_id}/retry", headers=headers)
    assert again.status_code == 409
    assert "não falhou" in again.json()["error"]["message"]


async def test_what_whatsapp_took_or_never_failed_is_not_sent_again(
    client: httpx.AsyncClient, db: Database, factory: Factory
) -> None:
    _, conversation_id, owner = await _chat(client, db, factory)
    headers = await login(client, owner)
    # WhatsApp gave it a key id, then reported ERROR: it may still be delivered.
    keyed, _ = await _failed(db, owner, conversation_id, "com id")
    await _set(db, keyed, "key_id = :k", k=f"K{uuid.uuid4().hex[:12]}")
    waiting = await queue_unpublished(db, owner, conversation_id, "ainda na fila")
    # An echo of a message sent from the phone: not ours to send.
    from_phone, _ = await _failed(db, owner, conversation_id, "do celular")
    await _set(db, from_phone, "outgoing = null, sent_by = null")
    [inbound] = await rows(
        db,
        "select id from evolution_messages where conversation_id = :c and not from_me",
        c=conversation_id,
    )
    await _set(db, str(inbound["id"]), "status = 'ERROR'")

    for message_id, words in (
        (keyed, "já recebeu"),
        (waiting, "não falhou"),
        (from_phone, "enviadas pelo zapcrm"),
        (str(inbound["id"]), "enviadas pelo zapcrm"),
    ):
        response = await client.post(f"/api/messages/{message_id}/retry", headers=headers)
        assert response.status_code == 409, (words, response.text)
        assert response.json()["error"]["code"] == "conflict"
        assert words in response.json()["error"]["message"]
    statuses = await rows(
        db, "select id, status from evolution_messages where id = any(:ids)",
        ids=[keyed, waiting, from_phone],
    )  # fmt: skip
    assert {str(r["id"]): r["status"] for r in statuses} == {
        keyed: "ERROR",
        waiting: "queued",
        from_phone: "ERROR",
    }


async def test_only_who_may_send_in_the_conversation_may_retry(
    client: httpx.AsyncClient, db: Database, factory: Factory
) -> None:
    instance, conversation_id, owner = await _chat(client, db, factory)
    message_id, _ = await _failed(db, owner, conversation_id, "Seu pedido saiu")
    colleague = await factory.user(instance.company_id, Role.OPERATOR)
    stranger = await factory.user(await factory.company(), Role.ADMIN)
    for user in (colleague, stranger):
        hidden = await client.post(
            f"/api/messages/{message_id}/retry", headers=await login(client, user)
        )
        assert hidden.status_code == 404, user.role
    supervisor = await login(client, await factory.user(instance.company_id, Role.SUPERVISOR))
    unknown = await client.post(f"/api/messages/{uuid.uuid4()}/retry", headers=supervisor)
    assert unknown.status_code == 404
    assert await rows(
        db, "select status from evolution_messages where id = :id", id=message_id
    ) == [{"status": "ERROR"}]
    retried = await client.post(f"/api/messages/{message_id}/retry", headers=supervisor)
    assert retried.status_code == 202, retried.text


async def test_a_retried_send_whose_earlier_attempt_reached_whatsapp_adopts_its_echo(
    client: httpx.AsyncClient, db: Database, factory: Factory, runtime: Runtime
) -> None:
    _, conversation_id, owner = await _chat(client, db, factory)
    message_id, _ = await _failed(
        db, owner, conversation_id, "Pode confirmar?", attempted_ago=timedelta(minutes=2)
    )
    # The gateway did send it (the call timed out): its echo arrived later, on its own row.
    echo_key = await store_echo(db, message_id)
    actor = acting_as(owner)
    async with db.tenant_session(actor.claims) as session:
        _, items = await outbound.retry(session, actor, uuid.UUID(message_id))
    [job] = [item.payload for item in items if item.stream == OUTGOING_STREAM]

    # The instance is not connected and its server does not exist: any send would fail.
    handler = OutgoingHandler(runtime, CredentialBox.from_settings(runtime.settings))
    await handler(Job(OUTGOING_STREAM, "1-0", job))

    ours = await rows(
        db,
        "select id, key_id, status from evolution_messages where conversation_id = :c and from_me",
        c=conversation_id,
    )
    assert ours == [{"id": uuid.UUID(message_id), "key_id": echo_key, "status": "DELIVERY_ACK"}]


async def test_a_retry_right_after_an_attempt_waits_for_that_attempts_echo(
    client: httpx.AsyncClient, db: Database, factory: Factory, runtime: Runtime
) -> None:
    _, conversation_id, owner = await _chat(client, db, factory)
    message_id, attempted = await _failed(
        db, owner, conversation_id, "Chegou?", attempted_ago=timedelta(seconds=3)
    )
    actor = acting_as(owner)
    async with db.tenant_session(actor.claims) as session:
        _, items = await outbound.retry(session, actor, uuid.UUID(message_id))
    [job] = [item.payload for item in items if item.stream == OUTGOING_STREAM]
    handler = OutgoingHandler(runtime, CredentialBox.from_settings(runtime.settings))

    with pytest.raises(RetryJobLater):
        await handler(Job(OUTGOING_STREAM, "1-0", job))

    [row] = await rows(
        db,
        "select status, send_attempts, send_attempted_at from evolution_messages where id = :id",
        id=message_id,
    )
    assert row == {"status": "queued", "send_attempts": 0, "send_attempted_at": attempted}


async def test_a_retried_send_gets_its_time_limits_afresh(
    client: httpx.AsyncClient, db: Database, factory: Factory, runtime: Runtime
) -> None:
    _, conversation_id, owner = await _chat(client, db, factory)
    message_id, _ = await _failed(db, owner, conversation_id, "Bom dia!")
    # Written two hours ago: past both the gateway's MAX_AGE and the sweeper's HOLD_LIMIT.
    await _set(db, message_id, "created_at = now() - interval '2 hours'")
    actor = acting_as(owner)
    async with db.tenant_session(actor.claims) as session:
        await outbound.retry(session, actor, uuid.UUID(message_id))

    async with db.service_session() as session:
        row = await outbound_repo.load_outgoing(session, uuid.UUID(message_id))
        expired = await outbound_repo.expire_held(session, datetime.now(UTC) - HOLD_LIMIT)
    assert row is not None
    assert datetime.now(UTC) - row["queued_at"] < MAX_AGE
    assert expired == 0
    assert await rows(
        db, "select status from evolution_messages where id = :id", id=message_id
    ) == [{"status": "queued"}]


async def test_a_number_that_joined_whatsapp_gets_the_retried_send_once(
    live_worker: None, gateway: Gateway
) -> None:
    number = "5511900002222"
    conversation_id = await gateway.conversation_with(number)
    admin = await gateway.user(Role.ADMIN)
    supervisor = await gateway.user(Role.SUPERVISOR)
    async with gateway.app() as app:
        headers = await login(app, admin)
        sent = await app.post(
            f"/api/conversations/{conversation_id}/messages", json={"text": "Olá!"}, headers=headers
        )
        assert sent.status_code == 202
        message_id = sent.json()["id"]
        await gateway.until_status(message_id, "ERROR")
        # The answer "not on WhatsApp" is cached for a day; the customer joins meanwhile.
        await gateway.new_customer(number, "Nova")
        reader = SseReader(app, await token_headers(app, supervisor))
        await asyncio.wait_for(reader.ready.wait(), 10)
        retried = await app.post(f"/api/messages/{message_id}/retry", headers=headers)
        assert retried.status_code == 202, retried.text
        seen = await reader.wait_for(lambda e: e["type"] == "message.retried")
        assert seen["data"]["message"]["id"] == message_id
        assert seen["data"]["message"]["status"] == "queued"
        await reader.close()
    await gateway.until_keyed(message_id)
    assert [item["request"]["text"] for item in await gateway.sent()] == ["Olá!"]
