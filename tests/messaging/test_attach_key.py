"""The send worker's "the gateway accepted it" write (`attach_key`, app.attach_sent_key).

The gateway's echo of our send and its first statuses can be stored before the send call
returns: the write must fold the echo into our row (keeping the most advanced status and the
chat's last message), hand back what was parked under the key id, oldest first, and write the
send's "sent" announcement in the same statement, naming the echo it folded.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import httpx

from tests.conftest import Factory
from tests.evolution.harness import Instance, post, rows, status_update, text_message
from tests.messaging.chats import new_chat
from zapcrm.db import Database
from zapcrm.messaging.repository import outbound

CUSTOMER = "5511987650002"
CUSTOMER_JID = f"{CUSTOMER}@s.whatsapp.net"


async def _queued(db: Database, instance: Instance, conversation_id: uuid.UUID) -> uuid.UUID:
    async with db.service_session() as session:
        queued = await outbound.queue_message(
            session,
            {
                "id": uuid.uuid4(),
                "company_id": instance.company_id,
                "instance_id": instance.instance_id,
                "conversation_id": conversation_id,
                "remote_jid": CUSTOMER_JID,
                "type": "text",
                "body": "Seu pedido saiu",
                "message_payload": {},
                "outgoing": {"kind": "text", "text": "Seu pedido saiu"},
                "quoted_key_id": None,
                "preview": "Seu pedido saiu",
                "at": datetime.now(UTC),
                "sent_by": None,
                "idempotency_key": None,
            },
        )
    assert queued is not None
    assert queued["status"] == "queued"
    return uuid.UUID(str(queued["id"]))


async def _queued_send(
    client: httpx.AsyncClient, db: Database, factory: Factory
) -> tuple[Instance, uuid.UUID, uuid.UUID, str]:
    """A chat, our queued reply in it, and the key id the gateway will give that reply."""
    chat = await new_chat(client, db, factory, phone=CUSTOMER)
    message_id = await _queued(db, chat.instance, chat.conversation_id)
    return chat.instance, chat.conversation_id, message_id, f"SENT{uuid.uuid4().hex[:14].upper()}"


async def _chat_last(db: Database, conversation_id: uuid.UUID) -> list[dict[str, Any]]:
    return await rows(
        db,
        "select last_message_id, last_message_status from evolution_conversations where id = :c",
        c=conversation_id,
    )


async def _attach(
    db: Database, instance: Instance, conversation_id: uuid.UUID, message_id: uuid.UUID, key: str
) -> outbound.AttachedKey:
    """The send's write."""
    async with db.service_session() as session:
        return await outbound.attach_key(
            session,
            message_id=message_id,
            conversation_id=conversation_id,
            instance_id=instance.instance_id,
            key_id=key,
            status="PENDING",
        )


async def test_an_echo_stored_first_is_folded_into_our_row(
    client: httpx.AsyncClient, db: Database, factory: Factory
) -> None:
    instance, conversation_id, message_id, key = await _queued_send(client, db, factory)
    echo = text_message(
        key, remote_jid=CUSTOMER_JID, from_me=True, text_body="Seu pedido saiu",
        event="send.message", status="DELIVERY_ACK", timestamp=int(datetime.now(UTC).timestamp()),
    )  # fmt: skip
    assert (await post(client, instance.envelope(echo))).status_code == 200
    [echo_row] = await rows(db, "select id from evolution_messages where key_id = :k", k=key)

    attached = await _attach(db, instance, conversation_id, message_id, key)
    final, folded, parked = attached.final_status, attached.folded, attached.parked

    assert final == "DELIVERY_ACK"  # the echo's status is ahead of the send answer's PENDING
    assert folded is not None
    assert folded.id == echo_row["id"]
    assert parked == []
    assert await rows(db, "select id, status from evolution_messages where key_id = :k", k=key) == [
        {"id": message_id, "status": "DELIVERY_ACK"}
    ]
    assert await _chat_last(db, conversation_id) == [
        {"last_message_id": message_id, "last_message_status": "DELIVERY_ACK"}
    ]


async def test_statuses_parked_under_the_key_come_back_oldest_first_and_leave_the_table(
    client: httpx.AsyncClient, db: Database, factory: Factory
) -> None:
    instance, conversation_id, message_id, key = await _queued_send(client, db, factory)
    for status in ("DELIVERY_ACK", "READ"):
        update = status_update(key, status, remote_jid=CUSTOMER_JID)
        assert (await post(client, instance.envelope(update))).status_code == 200

    attached = await _attach(db, instance, conversation_id, message_id, key)
    final, folded, parked = attached.final_status, attached.folded, attached.parked

    assert final == "PENDING"  # parked statuses are the caller's to apply
    assert folded is None
    assert [(kind, payload["status"]) for kind, payload in parked] == [
        ("status", "DELIVERY_ACK"),
        ("status", "READ"),
    ]
    assert await rows(
        db,
        "select count(*) as n from evolution_pending_updates where instance_id = :i",
        i=instance.instance_id,
    ) == [{"n": 0}]
    assert await rows(
        db, "select key_id, status from evolution_messages where id = :id", id=message_id
    ) == [{"key_id": key, "status": "PENDING"}]


async def test_without_an_echo_only_our_row_and_the_chats_last_status_change(
    client: httpx.AsyncClient, db: Database, factory: Factory
) -> None:
    instance, conversation_id, message_id, key = await _queued_send(client, db, factory)

    attached = await _attach(db, instance, conversation_id, message_id, key)
    assert (attached.final_status, attached.folded, attached.parked) == ("PENDING", None, [])
    assert await _chat_last(db, conversation_id) == [
        {"last_message_id": message_id, "last_message_status": "PENDING"}
    ]


async def test_the_key_is_attached_without_an_outbox_entry(
    client: httpx.AsyncClient, db: Database, factory: Factory
) -> None:
    instance, conversation_id, message_id, key = await _queued_send(client, db, factory)
    attached = await _attach(db, instance, conversation_id, message_id, key)

    assert (attached.final_status, attached.folded, attached.parked) == ("PENDING", None, [])
    assert await rows(
        db,
        "select count(*) as n from outbox where payload ->> 'message_id' = :m",
        m=str(message_id),
    ) == [{"n": 0}]
    assert await rows(
        db, "select key_id from evolution_messages where id = :id", id=message_id
    ) == [{"key_id": key}]
