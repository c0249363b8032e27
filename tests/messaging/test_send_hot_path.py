"""What the send worker saves on each send without changing what it does: the instance's token
opened once per stored ciphertext, the number check's cached answer read in the passage's round
trip, no lease keeper for a turn shorter than a third of its lease, and the "sent" announcement
written by the statement that attaches the key id (naming the echo folded into the send)."""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from cryptography.fernet import Fernet

from tests.conftest import Factory
from tests.evolution.harness import Instance, post, rows, text_message
from tests.messaging.chats import new_chat
from zapcrm.db import Database
from zapcrm.evolution.credentials import CredentialBox, CredentialError
from zapcrm.messaging import pacing
from zapcrm.messaging.changes import FOLDED_MESSAGE_FIELD, message_changed
from zapcrm.messaging.pacing import InstanceBusy, SendGate
from zapcrm.messaging.reachability import Passage, ServerReachability, mark_key
from zapcrm.messaging.repository import outbound
from zapcrm.outbox import INCOMING_STREAM
from zapcrm.runtime import Runtime


def _counting_box(keys: list[bytes]) -> tuple[CredentialBox, list[str]]:
    box = CredentialBox(keys)
    opened: list[str] = []
    decrypt = box._fernet.decrypt

    def counted(token: Any, ttl: int | None = None) -> bytes:
        opened.append(token.decode() if isinstance(token, bytes) else token)
        return decrypt(token, ttl)

    box._fernet.decrypt = counted  # type: ignore[method-assign,assignment]
    return box, opened


def test_a_token_is_decrypted_once_per_stored_ciphertext() -> None:
    box, opened = _counting_box([Fernet.generate_key()])
    sealed = box.seal("token-1")
    assert [box.open(sealed) for _ in range(3)] == ["token-1"] * 3
    assert opened == [sealed]


def test_a_rotated_token_is_seen_at_once() -> None:
    """Rotation stores the new token as a new ciphertext: the old one's cache never answers."""
    box, opened = _counting_box([Fernet.generate_key()])
    old, new = box.seal("antigo"), box.seal("novo")
    assert box.open(old) == "antigo"
    assert box.open(new) == "novo"
    assert box.open(old) == "antigo"
    assert opened == [old, new]


def test_a_credential_no_key_opens_is_refused_every_time() -> None:
    sealed = CredentialBox([Fernet.generate_key()]).seal("de outra chave")
    box, opened = _counting_box([Fernet.generate_key()])
    for _ in range(2):
        with pytest.raises(CredentialError):
            box.open(sealed)
    assert opened == [sealed, sealed]


async def test_the_passage_brings_the_callers_key_in_its_round_trip(runtime: Runtime) -> None:
    servers = ServerReachability(runtime.redis)
    url = f"https://evo-{uuid.uuid4().hex[:8]}.example.com"
    key = f"test:numbers:{uuid.uuid4()}"
    try:
        assert await servers.passage(url, "loja", read=key) == Passage(wait=0, probe=None)
        await runtime.redis.set(key, '{"exists": true}')
        assert await servers.passage(url, "loja", read=key) == Passage(
            wait=0, probe=None, read='{"exists": true}'
        )
        # The probe that goes out once the server's wait is over reads it too.
        await servers.unanswered(url, None)
        await runtime.redis.hset(mark_key(url), "until_ms", int((time.time() - 1) * 1000))
        assert await servers.passage(url, "loja", read=key) == Passage(
            wait=0, probe=mark_key(url), read='{"exists": true}'
        )
    finally:
        await runtime.redis.delete(key, mark_key(url), f"{mark_key(url)}:probe")


async def test_a_short_turn_starts_no_lease_keeper(runtime: Runtime) -> None:
    gate = SendGate(runtime.redis, min_interval_ms=0)
    before = len(asyncio.all_tasks())
    async with gate.turn(uuid.uuid4()):
        assert len(asyncio.all_tasks()) == before


async def test_a_turn_longer_than_its_lease_keeps_the_instance(
    runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A media upload may outlast the lease: the keeper starts a third of the way into it and
    renews it, so no other worker takes the instance meanwhile; the end frees it at once."""
    monkeypatch.setattr(pacing, "LEASE_SECONDS", 0.3)
    ours = SendGate(runtime.redis, min_interval_ms=0)
    theirs = SendGate(runtime.redis, min_interval_ms=0, wait_seconds=0.05)
    instance_id = uuid.uuid4()
    async with ours.turn(instance_id):
        await asyncio.sleep(0.75)  # two and a half leases
        with pytest.raises(InstanceBusy):
            async with theirs.turn(instance_id):
                pass
    async with theirs.turn(instance_id):
        pass


CUSTOMER = "5511987650003"
CUSTOMER_JID = f"{CUSTOMER}@s.whatsapp.net"


async def _queued_send(
    client: httpx.AsyncClient, db: Database, factory: Factory
) -> tuple[Instance, uuid.UUID, uuid.UUID, str]:
    """A chat, our queued reply in it, and the key id the gateway will give that reply."""
    chat = await new_chat(client, db, factory, phone=CUSTOMER)
    async with db.service_session() as session:
        queued = await outbound.queue_message(
            session,
            {
                "id": uuid.uuid4(), "company_id": chat.instance.company_id,
                "instance_id": chat.instance.instance_id, "conversation_id": chat.conversation_id,
                "remote_jid": CUSTOMER_JID, "type": "text", "body": "Seu pedido saiu",
                "message_payload": {}, "outgoing": {"kind": "text", "text": "Seu pedido saiu"},
                "quoted_key_id": None, "preview": "Seu pedido saiu", "at": datetime.now(UTC),
                "sent_by": None, "idempotency_key": None,
            },
        )  # fmt: skip
    assert queued is not None
    key = f"SENT{uuid.uuid4().hex[:14].upper()}"
    return chat.instance, chat.conversation_id, uuid.UUID(str(queued["id"])), key


async def _attach_announcing(
    db: Database, instance: Instance, conversation_id: uuid.UUID, message_id: uuid.UUID, key: str
) -> tuple[outbound.AttachedKey, dict[str, Any]]:
    """The send's write, and the payload the announcement of "sent" has without a fold."""
    event = message_changed(
        company_id=instance.company_id,
        conversation_id=conversation_id,
        message_id=message_id,
        change="sent",
    )
    async with db.service_session() as session:
        attached = await outbound.attach_key(
            session,
            company_id=instance.company_id,
            message_id=message_id,
            conversation_id=conversation_id,
            instance_id=instance.instance_id,
            key_id=key,
            status="PENDING",
            announce=event,
        )
    return attached, dict(event.payload)


async def _outbox_payload(db: Database, entry_id: int) -> list[dict[str, Any]]:
    return await rows(db, "select stream, payload from outbox where id = :id", id=entry_id)


async def test_the_send_is_announced_in_the_statement_that_attaches_its_key(
    client: httpx.AsyncClient, db: Database, factory: Factory
) -> None:
    instance, conversation_id, message_id, key = await _queued_send(client, db, factory)

    attached, plain = await _attach_announcing(db, instance, conversation_id, message_id, key)

    assert (attached.final_status, attached.folded, attached.parked) == ("PENDING", None, [])
    assert (attached.entry.stream, dict(attached.entry.payload)) == (INCOMING_STREAM, plain)
    assert await _outbox_payload(db, attached.entry.id) == [
        {"stream": INCOMING_STREAM, "payload": plain}
    ]
    assert await rows(
        db, "select key_id from evolution_messages where id = :id", id=message_id
    ) == [{"key_id": key}]


async def test_the_announcement_names_the_echo_folded_into_the_send(
    client: httpx.AsyncClient, db: Database, factory: Factory
) -> None:
    instance, conversation_id, message_id, key = await _queued_send(client, db, factory)
    echo = text_message(
        key, remote_jid=CUSTOMER_JID, from_me=True, text_body="Seu pedido saiu",
        event="send.message", status="DELIVERY_ACK", timestamp=int(datetime.now(UTC).timestamp()),
    )  # fmt: skip
    assert (await post(client, instance.envelope(echo))).status_code == 200
    [echo_row] = await rows(db, "select id from evolution_messages where key_id = :k", k=key)

    attached, plain = await _attach_announcing(db, instance, conversation_id, message_id, key)

    assert attached.final_status == "DELIVERY_ACK"
    assert attached.folded is not None
    assert attached.folded.id == echo_row["id"]
    folded = {**plain, FOLDED_MESSAGE_FIELD: str(echo_row["id"])}
    assert dict(attached.entry.payload) == folded
    assert await _outbox_payload(db, attached.entry.id) == [
        {"stream": INCOMING_STREAM, "payload": folded}
    ]
