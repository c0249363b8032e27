"""Chats made the way WhatsApp makes them, by a customer's webhook message to a fresh company's
instance (no gateway behind it: nothing sent in these chats reaches anyone), and the steps
tests take in them behind the API's back.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, cast

import httpx
import orjson
from sqlalchemy import text

from tests.conftest import Factory, UserFixture, identity_of
from tests.evolution.harness import Instance, new_instance, post, rows, text_message
from zapcrm.auth.identity import Identity
from zapcrm.db import Database
from zapcrm.messaging import cache, realtime
from zapcrm.messaging.repository import get_conversations, get_messages
from zapcrm.messaging.service import outbound
from zapcrm.models import Role
from zapcrm.outbox import PAYLOAD_FIELD, OutboxItem
from zapcrm.runtime import Runtime

DEFAULT_PHONE = "5511987654321"  # the sender of text_message's default remote JID


async def customer_writes(
    client: httpx.AsyncClient,
    db: Database,
    instance: Instance,
    key_id: str,
    *,
    phone: str = DEFAULT_PHONE,
    push_name: str = "Maria",
) -> Any:
    """A customer's text arrives by webhook; returns the id of their conversation."""
    body = text_message(key_id, remote_jid=f"{phone}@s.whatsapp.net", push_name=push_name)
    assert (await post(client, instance.envelope(body))).status_code == 200
    [row] = await rows(
        db,
        "select conversation_id from evolution_messages where instance_id = :i and key_id = :k",
        i=instance.instance_id,
        k=key_id,
    )
    return row["conversation_id"]


@dataclass
class Chat:
    """A fresh company's instance and the one conversation a customer opened in it."""

    instance: Instance
    conversation_id: Any


async def new_chat(
    client: httpx.AsyncClient,
    db: Database,
    factory: Factory,
    key_id: str | None = None,
    *,
    phone: str = DEFAULT_PHONE,
    push_name: str = "Maria",
) -> Chat:
    """A fresh company whose instance received one customer message (`key_id`, or a new one)."""
    instance = await new_instance(db, factory)
    key_id = key_id or f"IN{uuid.uuid4().hex[:14].upper()}"
    conversation_id = await customer_writes(
        client, db, instance, key_id, phone=phone, push_name=push_name
    )
    return Chat(instance, conversation_id)


async def assign(db: Database, conversation_id: Any, user_id: uuid.UUID | None) -> None:
    """Hand the conversation to a member of staff, as an assignment in the panel would."""
    async with db.service_session() as session:
        await session.execute(
            text("update evolution_conversations set assignee_id = :a where id = :id"),
            {"a": user_id, "id": conversation_id},
        )


def acting_as(user: UserFixture) -> Identity:
    """The identity a request of this user carries into the services."""
    return identity_of(user, display_name=user.role.value)


async def queue_unpublished(
    db: Database, user: UserFixture, conversation_id: Any, words: str
) -> str:
    """A text queued through the service, its job not published: no worker running in this
    test session can take it. Returns the message's id."""
    actor = acting_as(user)
    async with db.tenant_session(actor.claims) as session:
        message, _items = await outbound.queue_text(session, actor, conversation_id, text=words)
    return str(message.id)


async def store_echo(db: Database, message_id: Any) -> str:
    """The gateway's echo of our send, stored on a row of its own as ingestion stores one that
    came before our send's key (delivered, a minute ago). Returns its key id."""
    echo_key = f"E{uuid.uuid4().hex[:12].upper()}"
    async with db.service_session() as session:
        await session.execute(
            text(
                "insert into evolution_messages (company_id, instance_id, conversation_id,"
                " from_me, remote_jid, key_id, type, body, status, message_timestamp, created_at)"
                " select company_id, instance_id, conversation_id, true, remote_jid, :key,"
                " 'text', body, 'DELIVERY_ACK', now(), now() - interval '1 minute'"
                " from evolution_messages where id = :id"
            ),
            {"key": echo_key, "id": message_id},
        )
    return echo_key


async def stream_payloads(runtime: Runtime, stream: str) -> list[dict[str, Any]]:
    """The payloads of a Redis stream's entries still there, oldest first."""
    entries = cast(list[tuple[str, dict[str, str]]], await runtime.redis.xrange(stream) or [])
    return [orjson.loads(fields[PAYLOAD_FIELD]) for _, fields in entries]


async def move_to_server(db: Database, instance_id: uuid.UUID, server_url: str) -> None:
    """Put a connected instance on another Evolution server (a fresh name on it, as names are
    unique per server)."""
    async with db.service_session() as session:
        await session.execute(
            text(
                "update evolution_instances set server_url = :url, external_id = :name,"
                " connection_state = 'open' where id = :id"
            ),
            {"url": server_url, "name": f"loja-{uuid.uuid4().hex[:8]}", "id": instance_id},
        )


async def queued_text(
    client: httpx.AsyncClient, db: Database, factory: Factory, words: str
) -> tuple[uuid.UUID, list[OutboxItem]]:
    """Our text queued, through the service (committed), in a new customer's chat: the chat's
    id and the request's outbox items."""
    chat = await new_chat(client, db, factory, phone=f"55119{uuid.uuid4().int % 10**8:08d}")
    actor = acting_as(await factory.user(chat.instance.company_id, Role.ADMIN))
    async with db.tenant_session(actor.claims) as session:
        _message, items = await outbound.queue_text(
            session, actor, chat.conversation_id, text=words
        )
    return chat.conversation_id, items


async def read_back(db: Database, message_id: Any, conversation_id: Any) -> dict[str, Any]:
    """The message and its chat as the incoming worker would read them, in the API's JSON."""
    async with db.service_session() as session:
        [message] = await get_messages(session, [uuid.UUID(str(message_id))])
        [chat] = await get_conversations(session, [uuid.UUID(str(conversation_id))])
    return {
        "message": cache.message_out(message).model_dump(mode="json"),
        "conversation": cache.conversation_out(chat).model_dump(mode="json"),
    }


async def published(
    runtime: Runtime, company_id: str, handle: Callable[[], Awaitable[Any]]
) -> list[dict[str, Any]]:
    """The live events `handle()` publishes on the company's channel."""
    async with runtime.redis.pubsub() as pubsub:
        await pubsub.subscribe(realtime.channel_for(company_id))
        await pubsub.get_message(timeout=1)  # the subscription's confirmation
        await handle()
        events = []
        while (message := await pubsub.get_message(timeout=0.5)) is not None:
            if message["type"] == "message":
                events.append(orjson.loads(message["data"]))
        return events


async def cached_message(runtime: Runtime, message_id: Any) -> Any:
    """The message's snapshot in Redis (`evolution:message:<id>`), which must be there."""
    stored = await runtime.redis.get(cache.message_key(message_id))
    assert stored is not None, message_id
    return orjson.loads(stored)
