"""Queuing again the sends still waiting: the worker's sweeper does it for the sends still
waiting on a connected instance (their job may be lost), but not on every round, and an
instance's reconnection for the sends held while it was away, not for the others: a send
waiting for its turn, a retry or a deferral already has a live job, and each extra one started
a chain of runs of its own. Both see every waiting send, not only the oldest page of them."""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from datetime import timedelta

import httpx
import orjson
from sqlalchemy import text

from tests.conftest import Factory
from tests.messaging.chats import Chat, new_chat, queue_unpublished
from tests.worker.helpers import entries
from zapcrm.db import Database
from zapcrm.messaging.held import SWEEP_CURSOR_KEY, SWEEP_PAGE, mark_held
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


async def _copies(db: Database, message_id: str, count: int) -> list[str]:
    """`count` more sends like this one, each a millisecond older than the one before."""
    async with db.service_session() as session:
        columns = (
            await session.execute(
                text(
                    "select string_agg(quote_ident(column_name), ', ')"
                    " from information_schema.columns where table_schema = 'public'"
                    " and table_name = 'evolution_messages'"
                    " and column_name not in ('id', 'created_at') and is_generated = 'NEVER'"
                )
            )
        ).scalar_one()
        rows = await session.execute(
            text(
                f"insert into evolution_messages (id, created_at, {columns})"
                f" select gen_random_uuid(), m.created_at - n * interval '1 millisecond', {columns}"
                " from evolution_messages m, generate_series(1, :count) as n"
                " where m.id = :id returning id"
            ),
            {"id": message_id, "count": count},
        )
        return [str(row[0]) for row in rows]


async def _reconnects(db: Database, runtime: Runtime, chat: Chat) -> None:
    """The chat's instance says it is connected again (its `connection.update` open)."""
    reconnected = {
        "kind": "instance",
        "company_id": str(chat.instance.company_id),
        "instance_id": str(chat.instance.instance_id),
        "state": "open",
    }
    await IncomingHandler(db, runtime.redis)([Job(INCOMING_STREAM, "1-0", reconnected)])


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
    await _reconnects(db, runtime, chat)

    assert (await _jobs_for(runtime, held), await _jobs_for(runtime, with_a_job)) == (1, 0)
    # Queued once: a second reconnection finds it no longer held.
    await _reconnects(db, runtime, chat)
    assert await _jobs_for(runtime, held) == 1


async def _jobs_of(runtime: Runtime, message_ids: list[str]) -> Counter[str]:
    """How many jobs each of these sends has in the stream (others' jobs left out)."""
    ours = set(message_ids)
    queued = await entries(runtime.redis, OUTGOING_STREAM)
    found = (orjson.loads(fields[PAYLOAD_FIELD])["message_id"] for _id, fields in queued)
    return Counter(message_id for message_id in found if message_id in ours)


async def _only_these_wait(db: Database, runtime: Runtime, message_ids: list[str]) -> None:
    """Earlier tests' sends in this database stop waiting, and the sweeper's walk starts over."""
    async with db.service_session() as session:
        await session.execute(
            text(
                "update evolution_messages set status = 'ERROR'"
                " where status = 'queued' and not id = any(cast(:ids as uuid[]))"
            ),
            {"ids": message_ids},
        )
    await runtime.redis.delete(SWEEP_CURSOR_KEY)


async def test_the_sweeper_reaches_every_waiting_send_not_only_the_oldest_page(
    client: httpx.AsyncClient, db: Database, factory: Factory, runtime: Runtime
) -> None:
    first = await _waiting_send(client, db, factory)
    waiting = [first, *await _copies(db, first, SWEEP_PAGE + 4)]

    await requeue_held(runtime)
    await requeue_held(runtime)

    assert await _jobs_of(runtime, waiting) == Counter(waiting)


async def test_the_sweeper_goes_on_next_round_where_it_stopped(
    client: httpx.AsyncClient, db: Database, factory: Factory, runtime: Runtime
) -> None:
    """A round looks at `per_round` sends at most; the next takes the following ones, and once
    the walk has seen the last it starts over from the oldest."""
    first = await _waiting_send(client, db, factory)
    waiting = [first, *await _copies(db, first, 4)]
    await _only_these_wait(db, runtime, waiting)
    again_after = timedelta(milliseconds=300)

    rounds = [await requeue_held(runtime, again_after=again_after, per_round=2) for _ in range(3)]
    assert rounds == [2, 2, 1]
    assert await _jobs_of(runtime, waiting) == Counter(waiting)

    await asyncio.sleep(0.4)
    assert await requeue_held(runtime, again_after=again_after, per_round=2) == 2
    assert await _jobs_of(runtime, waiting) == Counter(waiting) + Counter(
        waiting[-2:]
    )  # the oldest


async def test_a_reconnection_queues_again_every_send_held_for_it(
    client: httpx.AsyncClient, db: Database, factory: Factory, runtime: Runtime
) -> None:
    chat = await new_chat(client, db, factory, phone=f"55119{uuid.uuid4().int % 10**8:08d}")
    first = await _waiting_send(client, db, factory, chat)
    held = [first, *await _copies(db, first, SWEEP_PAGE + 4)]
    for message_id in held:
        await mark_held(runtime.redis, uuid.UUID(message_id), HOLD_LIMIT)
    await _reconnects(db, runtime, chat)

    assert await _jobs_of(runtime, held) == Counter(held)
