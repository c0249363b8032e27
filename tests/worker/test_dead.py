"""Dead-letter tools: list, replay (by id or all) through a working handler, drop."""

from __future__ import annotations

import pytest
from redis.asyncio import Redis

from tests.worker.helpers import Workers, add_entry, wait_until
from zapcrm.worker import (
    Job,
    PermanentJobError,
    dead_key,
    dead_letters,
    drop_dead,
    enqueue,
    enqueue_many,
    replay_dead,
)

STREAM = "test:dead"


async def test_replayed_letters_run_again_from_attempt_zero(redis: Redis, workers: Workers) -> None:
    broken = True
    handled: list[Job] = []

    async def handle(job: Job) -> None:
        if broken:
            raise PermanentJobError("template missing")
        handled.append(job)

    runtime = workers.runtime()
    runtime.register(STREAM, handler=handle, block_ms=50)
    workers.start(runtime)
    await enqueue_many(redis, [(STREAM, {"n": n}) for n in range(4)])
    await wait_until(lambda: _dead_count_is(redis, 4))
    letters = await dead_letters(redis, STREAM)
    assert [letter.payload for letter in letters] == [{"n": n} for n in range(4)]
    assert [letter.error for letter in letters] == ["template missing"] * 4

    broken = False  # the bug is fixed: replay two, drop one, replay the rest
    assert await replay_dead(redis, STREAM, [letters[0].dead_id, letters[2].dead_id]) == 2
    await wait_until(lambda: len(handled) == 2)
    assert await drop_dead(redis, STREAM, [letters[1].dead_id]) == 1
    assert await replay_dead(redis, STREAM, "all") == 1
    await wait_until(lambda: len(handled) == 3)

    assert sorted(job.payload["n"] for job in handled) == [0, 2, 3]
    assert {job.attempt for job in handled} == {0}
    assert await redis.xlen(dead_key(STREAM)) == 0


async def test_replaying_the_same_letter_twice_enqueues_it_once(redis: Redis) -> None:
    dead_id = await add_entry(redis, dead_key(STREAM), {"payload": '{"n":1}', "error_type": "E"})

    assert await replay_dead(redis, STREAM, [dead_id]) == 1
    assert await replay_dead(redis, STREAM, [dead_id]) == 0
    assert await redis.xlen(STREAM) == 1


async def test_dead_letters_pages_from_an_id(redis: Redis) -> None:
    ids = [await add_entry(redis, dead_key(STREAM), {"payload": f'{{"n":{n}}}'}) for n in range(5)]

    page = await dead_letters(redis, STREAM, count=2, after=ids[1])

    assert [letter.dead_id for letter in page] == ids[2:4]


async def test_drop_all_empties_the_dead_letters(redis: Redis) -> None:
    for n in range(3):
        await redis.xadd(dead_key(STREAM), {"payload": f'{{"n":{n}}}'})

    assert await drop_dead(redis, STREAM, "all") == 3
    assert await redis.xlen(dead_key(STREAM)) == 0
    assert await drop_dead(redis, STREAM, []) == 0


async def test_a_lone_id_string_is_refused(redis: Redis) -> None:
    entry_id = await enqueue(redis, STREAM, {"n": 1})
    with pytest.raises(ValueError, match="list of dead-letter ids"):
        await replay_dead(redis, STREAM, entry_id)


async def _dead_count_is(redis: Redis, count: int) -> bool:
    return await redis.xlen(dead_key(STREAM)) == count
