"""Queuing again the sends still waiting: the worker's sweeper does it for the sends still
waiting on a connected instance (their job may be lost), but not on every round, and an
instance's reconnection for the sends held while it was away, not for the others: a send
waiting for its turn, a retry or a deferral already has a live job, and each extra one started
a chain of runs of its own."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta

import httpx
from sqlalchemy import text

from tests.conftest import Factory
from tests.messaging.chats import Chat, new_chat, queue_unpublished
from tests.worker.helpers import entries
from zapcrm.db import Database
from zapcrm.messaging.held import mark_held
from zapcrm.messaging.jobs import IncomingHandler
from zapcrm.messaging.sending import HOLD_LIMIT, requeue_held
from zapcrm.messaging.service.outbound import OUTGOING_STREAM
from zapcrm.models import Role
from zapcrm.outbox import INCOMING_STREAM, PAYLOAD_FIELD
from zapcrm.runtime import Runtime
from zapcrm.worker import Job


async def _waiting_send(
    client: httpx.AsyncClient, db: Database, factory: Factory, chat: Chat | None = None
) -> str:
    """A text queued two minutes ago on a connected instance, its job never published."""
    chat = chat or await new_chat(client, db, factory, phone=f"55119{uuid.uuid4().int % 10**8:08d}")
    user = await factory.user(chat.instance.company_id, Role.ADMIN)
    message_id = await queue_unpublished(db, user, chat.conversation_id, "Seu pedido saiu")
    async with db.service_session() as session:
        await session.execute(
            text("update evolution_instances set connection_state = 'open' where id = :id"),
            {"id": chat.instance.instance_id},
        )
        await session.execute(
            text(
                "update evolution_messages set created_at = now() - interval '2 minutes'"
                " where id = :id"
            ),
            {"id": message_id},
        )
    return message_id


async def _jobs_for(runtime: Runtime, message_id: str) -> int:
    queued = await entries(runtime.redis, OUTGOING_STREAM)
    return sum(message_id in fields.get(PAYLOAD_FIELD, "") for _id, fields in queued)


async def test_a_waiting_send_is_queued_again_once_not_on_every_round(
    client: httpx.AsyncClient, db: Database, factory: Factory, runtime: Runtime
) -> None:
    message_id = await _waiting_send(client, db, factory)

    await requeue_held(runtime)
    await requeue_held(runtime)
    await requeue_held(runtime)

    assert await _jobs_for(runtime, message_id) == 1


async def test_a_send_still_waiting_after_the_interval_is_queued_again(
    client: httpx.AsyncClient, db: Database, factory: Factory, runtime: Runtime
) -> None:
    """The sweeper stays the safety net of a lost job: once the interval is over, again."""
    message_id = await _waiting_send(client, db, factory)
    again_after = timedelta(milliseconds=300)

    await requeue_held(runtime, again_after=again_after)
    await requeue_held(runtime, again_after=again_after)
    assert await _jobs_for(runtime, message_id) == 1

    await asyncio.sleep(0.4)
    await requeue_held(runtime, again_after=again_after)
    assert await _jobs_for(runtime, message_id) == 2


async def test_a_reconnection_queues_again_the_sends_held_for_it_not_the_others(
    client: httpx.AsyncClient, db: Database, factory: Factory, runtime: Runtime
) -> None:
    chat = await new_chat(client, db, factory, phone=f"55119{uuid.uuid4().int % 10**8:08d}")
    held = await _waiting_send(client, db, factory, chat)
    with_a_job = await _waiting_send(client, db, factory, chat)
    await mark_held(runtime.redis, uuid.UUID(held), HOLD_LIMIT)
    reconnected = {
        "kind": "instance",
        "company_id": str(chat.instance.company_id),
        "instance_id": str(chat.instance.instance_id),
        "state": "open",
    }

    await IncomingHandler(db, runtime.redis)([Job(INCOMING_STREAM, "1-0", reconnected)])

    assert (await _jobs_for(runtime, held), await _jobs_for(runtime, with_a_job)) == (1, 0)
    # Queued once: a second reconnection finds it no longer held.
    await IncomingHandler(db, runtime.redis)([Job(INCOMING_STREAM, "2-0", reconnected)])
    assert await _jobs_for(runtime, held) == 1
