"""Reading a chat: its unread count goes to zero for everyone who sees it, live."""

from __future__ import annotations

import httpx

from tests.conftest import Factory, identity_of
from tests.evolution.harness import new_instance
from tests.messaging.chats import customer_writes
from zapcrm.db import Database
from zapcrm.messaging.service import outbound as outbound_service
from zapcrm.messaging.service.outbound import OUTGOING_STREAM
from zapcrm.models import Role
from zapcrm.outbox import INCOMING_STREAM


async def test_reading_a_chat_with_unread_messages_tells_every_open_list(
    client: httpx.AsyncClient, db: Database, factory: Factory
) -> None:
    instance = await new_instance(db, factory)
    conversation_id = await customer_writes(client, db, instance, "UNREAD-1")
    await customer_writes(client, db, instance, "UNREAD-2")
    actor = identity_of(await factory.user(instance.company_id, Role.SUPERVISOR))
    async with db.tenant_session(actor.claims) as session:
        items = await outbound_service.mark_read(session, actor, conversation_id)
    # WhatsApp is told (blue ticks), and so are colleagues' lists (their unread badge).
    assert [(item.stream, item.payload["kind"]) for item in items] == [
        (OUTGOING_STREAM, "read"),
        (INCOMING_STREAM, "conversation"),
    ]
    async with db.tenant_session(actor.claims) as session:
        again = await outbound_service.mark_read(session, actor, conversation_id)
    assert [item.payload["kind"] for item in again] == ["read"]  # nothing unread: no update
