"""enqueue / enqueue_many write the entry format the runtime reads."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from redis.asyncio import Redis

from tests.worker.helpers import entries
from zapcrm.worker import enqueue, enqueue_many
from zapcrm.worker._job import decode_job


async def test_enqueue_stores_the_payload_as_json_with_attempt(redis: Redis) -> None:
    conversation = uuid.uuid4()
    entry_id = await enqueue(
        redis, "test:jobs", {"conversation_id": conversation, "text": "olá"}, attempt=2
    )

    [(stored_id, fields)] = await entries(redis, "test:jobs")
    assert stored_id == entry_id
    assert fields == {
        "payload": f'{{"conversation_id":"{conversation}","text":"olá"}}',
        "attempt": "2",
    }
    job = decode_job("test:jobs", stored_id, fields)
    assert (job.payload["text"], job.attempt, job.origin_id) == ("olá", 2, entry_id)


async def test_enqueue_many_publishes_to_several_streams_in_order(redis: Redis) -> None:
    moment = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    ids = await enqueue_many(
        redis,
        [("test:a", {"n": 1}), ("test:b", {"n": 2, "at": moment}), ("test:a", {"n": 3})],
    )

    assert len(ids) == 3
    a_entries = await entries(redis, "test:a")
    b_entries = await entries(redis, "test:b")
    assert [entry_id for entry_id, _ in a_entries] == [ids[0], ids[2]]
    assert b_entries == [
        (ids[1], {"payload": '{"n":2,"at":"2026-01-02T03:04:05+00:00"}', "attempt": "0"})
    ]


async def test_enqueue_many_of_nothing_is_nothing(redis: Redis) -> None:
    assert await enqueue_many(redis, []) == []
