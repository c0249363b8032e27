"""One send at a time per instance at SEND_MIN_INTERVAL_MS, across workers (real Redis): the
gate on its own, then two send handlers (as two worker processes would run them) against the
simulator."""

from __future__ import annotations

import asyncio
import dataclasses
import itertools
import time
import uuid
from typing import Any

from redis.asyncio import Redis

from tests.messaging.chats import queue_unpublished
from tests.messaging.gateway import CustomerChat, Gateway, until
from zapcrm.evolution.credentials import CredentialBox
from zapcrm.messaging.pacing import SendGate
from zapcrm.messaging.sending import OutgoingHandler
from zapcrm.runtime import Runtime
from zapcrm.worker import Job

HOLD = 0.05  # seconds each simulated gateway call lasts
# The pace is kept where the turn is granted; a start is noted just after, late by however long
# the event loop takes to come back (more on a busy machine).
JITTER = 0.03


async def _turns(
    gate: SendGate, instance_id: uuid.UUID, count: int, log: list[tuple[uuid.UUID, float, float]]
) -> None:
    async def one() -> None:
        async with gate.turn(instance_id):
            started = time.monotonic()
            await asyncio.sleep(HOLD)
            log.append((instance_id, started, time.monotonic()))

    await asyncio.gather(*(one() for _ in range(count)))


def _of(log: list[tuple[uuid.UUID, float, float]], instance_id: uuid.UUID) -> list[Any]:
    return sorted((start, end) for owner, start, end in log if owner == instance_id)


async def test_turns_on_one_instance_never_overlap_and_keep_the_interval(
    runtime: Runtime,
) -> None:
    # Two gates on separate connections: what two worker processes have in common is Redis.
    other = Redis.from_url(runtime.settings.redis_url)
    first = SendGate(runtime.redis, min_interval_ms=200)
    second = SendGate(other, min_interval_ms=200)
    busy, quiet = uuid.uuid4(), uuid.uuid4()
    log: list[tuple[uuid.UUID, float, float]] = []
    await asyncio.gather(
        _turns(first, busy, 3, log), _turns(second, busy, 3, log), _turns(second, quiet, 2, log)
    )
    await other.aclose()
    turns = _of(log, busy)
    assert len(turns) == 6
    for (start, end), (next_start, _) in itertools.pairwise(turns):
        assert next_start >= end  # never two calls through one instance at once
        assert next_start - start >= 0.2 - JITTER  # the interval between starts
    assert turns[-1][0] - turns[0][0] >= 5 * 0.2 - JITTER
    # The other instance is paced on its own: its two turns were done before the busy one's
    # third began (had both shared a pace, they would have waited for the busy one's turns).
    assert _of(log, quiet)[-1][1] < turns[2][0]


async def test_without_an_interval_turns_still_never_overlap(runtime: Runtime) -> None:
    other = Redis.from_url(runtime.settings.redis_url)
    gates = [SendGate(runtime.redis, min_interval_ms=0), SendGate(other, min_interval_ms=0)]
    instance_id = uuid.uuid4()
    log: list[tuple[uuid.UUID, float, float]] = []
    began = time.monotonic()
    await asyncio.gather(*(_turns(gate, instance_id, 4, log) for gate in gates))
    await other.aclose()
    turns = _of(log, instance_id)
    assert len(turns) == 8
    assert all(b[0] >= a[1] for a, b in itertools.pairwise(turns))
    assert time.monotonic() - began < 8 * HOLD + 1.0  # unpaced: only the calls themselves


async def test_two_workers_sending_through_one_instance_keep_its_pace(
    gateway: Gateway, customer_chat: CustomerChat, runtime: Runtime
) -> None:
    paced = dataclasses.replace(
        runtime, settings=runtime.settings.model_copy(update={"send_min_interval_ms": 300})
    )
    credentials = CredentialBox.from_settings(runtime.settings)
    workers = [OutgoingHandler(paced, credentials), OutgoingHandler(paced, credentials)]
    # Queued through the service without publishing to the stream, so that a live worker left
    # running by another test cannot take these sends: the two handlers below are the senders.
    ids = [
        await queue_unpublished(
            gateway.db, customer_chat.admin, customer_chat.conversation_id, f"parte {n}"
        )
        for n in range(6)
    ]
    instance_id = await gateway.instance_id()
    jobs = [
        Job(
            "evolution:outgoing-messages",
            f"1-{n}",
            {"message_id": message_id, "instance_id": str(instance_id)},
        )
        for n, message_id in enumerate(ids)
    ]
    # Each handler (its own gate, like a worker process of its own) takes half at once.
    await asyncio.gather(*(workers[n % 2](job) for n, job in enumerate(jobs)))
    attempts = await until(
        gateway.db,
        "select send_attempted_at as at from evolution_messages where id = any(:ids)"
        " and key_id is not null order by send_attempted_at",
        {"ids": ids},
        lambda r: len(r) == 6,
    )
    starts = [row["at"].timestamp() for row in attempts]
    gaps = [later - earlier for earlier, later in itertools.pairwise(starts)]
    assert min(gaps) >= 0.3 - JITTER, gaps
    assert starts[-1] - starts[0] >= 5 * 0.3 - JITTER
    sent = await gateway.sent()
    assert sorted(item["request"]["text"] for item in sent) == [f"parte {n}" for n in range(6)]
