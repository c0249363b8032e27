"""A gateway that stops answering holds up its own instance's sends, not anybody else's: the
send worker keeps one send at a time per instance, and the backlog of an instance whose calls
hang must not keep the worker from reading, sending and announcing the others'."""

from __future__ import annotations

import asyncio
import uuid

import httpx
from sqlalchemy import text

from tests.conftest import Factory
from tests.live import SseReader, token_headers
from tests.messaging.chats import acting_as, move_to_server, new_chat
from tests.messaging.gateway import CustomerChat
from tests.net import silent_server
from zapcrm.db import Database
from zapcrm.messaging.service import outbound
from zapcrm.models import Role
from zapcrm.outbox import record
from zapcrm.runtime import Runtime


async def _backlog_on(
    server_url: str,
    sends: int,
    client: httpx.AsyncClient,
    db: Database,
    factory: Factory,
    runtime: Runtime,
) -> uuid.UUID:
    """Another company's connected instance on `server_url` with `sends` texts queued for the
    worker, as a busy chat leaves them; returns the instance's id."""
    chat = await new_chat(client, db, factory, phone="5511955550000")
    await move_to_server(db, chat.instance.instance_id, server_url)
    actor = acting_as(await factory.user(chat.instance.company_id, Role.ADMIN))
    for n in range(sends):
        async with db.tenant_session(actor.claims) as session:
            _message, items = await outbound.queue_text(
                session, actor, chat.conversation_id, text=f"mensagem {n}"
            )
            entries = await record(session, actor.company_id, items)
        assert await runtime.outbox.publish(entries)
    return chat.instance.instance_id


async def test_a_hanging_gateways_backlog_does_not_delay_another_instances_send_or_ticks(
    customer_chat: CustomerChat,
    live_worker: None,
    client: httpx.AsyncClient,
    db: Database,
    factory: Factory,
    runtime: Runtime,
) -> None:
    async with silent_server() as silent_url:
        # More than the send stream reads ahead (20): its entries waiting behind the hung
        # one used to fill that room, and Rita's answer waited for ten or more timeouts.
        dead = await _backlog_on(silent_url, 30, client, db, factory, runtime)
        try:
            async with customer_chat.gateway.app() as app:
                reader = SseReader(app, await token_headers(app, customer_chat.admin))
                await asyncio.wait_for(reader.ready.wait(), 10)
                message_id = await customer_chat.reply("Já vejo isso para você")

                # Sent, delivered and read on the phone, and the read tick announced live, within
                # the reader's 10 s (a few seconds on a quiet machine).
                await reader.wait_for(
                    lambda event: (
                        (event.get("data") or {}).get("message", {}).get("id") == message_id
                        and event["data"]["message"]["status"] == "READ"
                    )
                )
                await reader.close()
        finally:
            # What is left of the backlog fails at once when a later test's worker meets it.
            async with db.service_session() as session:
                await session.execute(
                    text(
                        "update evolution_messages set status = 'ERROR'"
                        " where instance_id = :id and status = 'queued'"
                    ),
                    {"id": dead},
                )
