"""WorkerRuntime against a real Redis: acks, retries, dead letters, ordering, batches, shutdown,
sharing a group, leases, reclaiming, trimming."""

from __future__ import annotations

import asyncio
import itertools
import time
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

import pytest
from prometheus_client import REGISTRY
from redis.asyncio import Redis

from tests.worker.helpers import (
    GROUP,
    Workers,
    drop_connections,
    entries,
    pending_count,
    wait_until,
)
from zapcrm.worker import (
    DeferJob,
    ExhaustedHook,
    Handler,
    Job,
    PermanentJobError,
    RetryJobLater,
    WorkerRuntime,
    dead_key,
    dead_letters,
    enqueue,
    enqueue_many,
    retry_key,
)
from zapcrm.worker._job import encode_payload, entry_fields

STREAM = "test:jobs"


async def test_job_is_handled_then_acknowledged(redis: Redis, workers: Workers) -> None:
    seen: list[Job] = []

    async def handle(job: Job) -> None:
        seen.append(job)

    runtime = workers.runtime()
    runtime.register(STREAM, handler=handle, block_ms=50)
    workers.start(runtime)
    entry_id = await enqueue(redis, STREAM, {"conversation_id": 7})

    await wait_until(lambda: len(seen) == 1)
    await wait_until(lambda: _no_pending(redis, STREAM))
    job = seen[0]
    assert (job.stream, job.entry_id, job.attempt, job.origin_id) == (STREAM, entry_id, 0, entry_id)
    assert job.payload == {"conversation_id": 7}
    assert abs(job.enqueued_at - time.time()) < 5


async def _no_pending(redis: Redis, stream: str) -> bool:
    return await pending_count(redis, stream) == 0


async def test_entry_stays_pending_until_its_handler_succeeds(
    redis: Redis, workers: Workers
) -> None:
    release = asyncio.Event()
    started = asyncio.Event()

    async def handle(job: Job) -> None:
        started.set()
        await release.wait()

    runtime = workers.runtime()
    runtime.register(STREAM, handler=handle, block_ms=50)
    workers.start(runtime)
    await enqueue(redis, STREAM, {"n": 1})
    await asyncio.wait_for(started.wait(), 5)
    await asyncio.sleep(0.1)  # time enough for an early ack to show

    assert await pending_count(redis, STREAM) == 1
    release.set()
    await wait_until(lambda: _no_pending(redis, STREAM))


async def test_failed_job_is_retried_with_backoff_until_it_succeeds(
    redis: Redis, workers: Workers
) -> None:
    runs: list[tuple[Job, float]] = []

    async def flaky(job: Job) -> None:
        runs.append((job, time.monotonic()))
        if job.attempt < 2:
            raise ConnectionError("gateway timeout")

    runtime = workers.runtime()
    runtime.register(STREAM, handler=flaky, block_ms=50, base_delay=0.05, max_delay=1.0)
    workers.start(runtime)
    first_id = await enqueue(redis, STREAM, {"n": 1})

    await wait_until(lambda: len(runs) == 3)
    await wait_until(lambda: _no_pending(redis, STREAM))
    assert [job.attempt for job, _ in runs] == [0, 1, 2]
    assert {job.origin_id for job, _ in runs} == {first_id}
    assert len({job.entry_id for job, _ in runs}) == 3  # each retry is a new entry
    gaps = [later - earlier for (_, earlier), (_, later) in itertools.pairwise(runs)]
    assert gaps[0] >= 0.05 * 0.8  # base_delay * 2^0, minus the jitter
    assert gaps[1] >= 0.10 * 0.8  # base_delay * 2^1, minus the jitter
    assert await redis.zcard(retry_key(STREAM)) == 0
    assert await redis.xlen(dead_key(STREAM)) == 0


async def test_always_failing_job_is_dead_lettered_after_max_attempts_not_before(
    redis: Redis, workers: Workers
) -> None:
    dead_seen_by_runs: list[int] = []
    entry_ids: list[str] = []

    async def broken(job: Job) -> None:
        dead_seen_by_runs.append(await redis.xlen(dead_key(STREAM)))
        entry_ids.append(job.entry_id)
        raise ValueError(f"cannot parse message {job.payload['n']}")

    runtime = workers.runtime()
    runtime.register(STREAM, handler=broken, block_ms=50, max_attempts=3, base_delay=0.01)
    workers.start(runtime)
    first_id = await enqueue(redis, STREAM, {"n": 42})

    await wait_until(lambda: _dead_count_is(redis, STREAM, 1))
    await asyncio.sleep(0.1)  # no run after the last attempt
    assert dead_seen_by_runs == [0, 0, 0]
    [letter] = await dead_letters(redis, STREAM)
    assert letter.payload == {"n": 42}
    assert (letter.error_type, letter.error, letter.attempts) == (
        "ValueError",
        "cannot parse message 42",
        3,
    )
    assert (letter.entry_id, letter.origin_id) == (entry_ids[-1], first_id)
    assert letter.failed_at is not None
    assert await pending_count(redis, STREAM) == 0
    assert await redis.zcard(retry_key(STREAM)) == 0


async def _dead_count_is(redis: Redis, stream: str, count: int) -> bool:
    return await redis.xlen(dead_key(stream)) == count


class GatewayRejected(PermanentJobError):
    """A 4xx from the gateway: retrying cannot help."""


async def test_permanent_error_is_dead_lettered_at_once(redis: Redis, workers: Workers) -> None:
    runs: list[Job] = []

    async def rejecting(job: Job) -> None:
        runs.append(job)
        raise GatewayRejected("400 number does not exist")

    runtime = workers.runtime()
    runtime.register(STREAM, handler=rejecting, block_ms=50, max_attempts=8, base_delay=0.01)
    workers.start(runtime)
    await enqueue(redis, STREAM, {"n": 1})

    await wait_until(lambda: _dead_count_is(redis, STREAM, 1))
    await asyncio.sleep(0.05)
    [letter] = await dead_letters(redis, STREAM)
    assert len(runs) == 1
    assert (letter.error_type, letter.attempts) == ("GatewayRejected", 1)
    assert await redis.zcard(retry_key(STREAM)) == 0


async def test_retry_job_later_uses_the_requested_delay(redis: Redis, workers: Workers) -> None:
    runs: list[tuple[int, float]] = []

    async def rate_limited(job: Job) -> None:
        runs.append((job.attempt, time.monotonic()))
        if job.attempt == 0:
            raise RetryJobLater(0.2, "429 from the gateway")

    runtime = workers.runtime()
    # A base delay of 10 s shows the requested 0.2 s replaced the backoff.
    runtime.register(STREAM, handler=rate_limited, block_ms=50, base_delay=10, max_delay=20)
    workers.start(runtime)
    await enqueue(redis, STREAM, {"n": 1})

    await wait_until(lambda: len(runs) == 2)
    assert [attempt for attempt, _ in runs] == [0, 1]
    assert 0.2 <= runs[1][1] - runs[0][1] < 2.0


async def test_a_deferred_job_spends_no_attempt(redis: Redis, workers: Workers) -> None:
    """Deferred more times than the stream allows attempts, the job still runs, with its
    attempt count untouched, and no failure or retry is counted."""
    runs: list[int] = []

    async def waiting_for_its_turn(job: Job) -> None:
        runs.append(job.attempt)
        if len(runs) <= 4:
            raise DeferJob(0.01, "another worker holds the instance's send turn")

    def counted(metric: str) -> float:
        return REGISTRY.get_sample_value(metric, {"stream": STREAM}) or 0.0

    before = {name: counted(name) for name in _SETTLE_METRICS}
    runtime = workers.runtime()
    runtime.register(STREAM, handler=waiting_for_its_turn, block_ms=50, max_attempts=2)
    workers.start(runtime)
    await enqueue(redis, STREAM, {"n": 1})

    await wait_until(lambda: len(runs) == 5)
    await wait_until(lambda: _no_pending(redis, STREAM))
    assert runs == [0, 0, 0, 0, 0]
    assert await dead_letters(redis, STREAM) == []
    grown = {name: counted(name) - before[name] for name in _SETTLE_METRICS}
    assert grown == {
        "zapcrm_queue_deferred_total": 4,
        "zapcrm_queue_failed_total": 0,
        "zapcrm_queue_retried_total": 0,
        "zapcrm_queue_processed_total": 1,
    }


_SETTLE_METRICS = (
    "zapcrm_queue_deferred_total",
    "zapcrm_queue_failed_total",
    "zapcrm_queue_retried_total",
    "zapcrm_queue_processed_total",
)


async def test_entries_not_written_by_enqueue_are_dead_lettered_unhandled(
    redis: Redis, workers: Workers
) -> None:
    runs: list[Job] = []

    async def handle(job: Job) -> None:
        runs.append(job)

    runtime = workers.runtime()
    runtime.register(STREAM, handler=handle, block_ms=50)
    workers.start(runtime)
    await redis.xadd(STREAM, {"body": "no payload field"})
    await redis.xadd(STREAM, {"payload": "[1, 2]"})
    await redis.xadd(STREAM, {"payload": "{not json"})

    await wait_until(lambda: _dead_count_is(redis, STREAM, 3))
    letters = await dead_letters(redis, STREAM)
    assert {letter.error_type for letter in letters} == {"MalformedEntry"}
    assert letters[0].raw_payload == '{"body":"no payload field"}'
    assert runs == []
    await wait_until(lambda: _no_pending(redis, STREAM))


async def test_order_key_runs_one_key_at_a_time_in_order_and_keys_in_parallel(
    redis: Redis, workers: Workers
) -> None:
    spans: dict[str, list[tuple[int, float, float]]] = {"a": [], "b": []}

    async def handle(job: Job) -> None:
        started = time.monotonic()
        await asyncio.sleep(0.02)
        spans[job.payload["chat"]].append((job.payload["seq"], started, time.monotonic()))

    await enqueue_many(
        redis, [(STREAM, {"chat": chat, "seq": seq}) for seq in range(6) for chat in ("a", "b")]
    )
    runtime = workers.runtime()
    runtime.register(
        STREAM,
        handler=handle,
        block_ms=50,
        concurrency=4,
        order_key=lambda payload: str(payload["chat"]),
    )
    workers.start(runtime)

    await wait_until(lambda: len(spans["a"]) + len(spans["b"]) == 12)
    for chat in ("a", "b"):
        assert [seq for seq, _, _ in spans[chat]] == list(range(6))
        for (_, _, previous_end), (_, start, _) in itertools.pairwise(spans[chat]):
            assert start >= previous_end  # strictly one at a time
    overlapping = [
        (a, b)
        for a in spans["a"]
        for b in spans["b"]
        if a[1] < b[2] and b[1] < a[2]  # the two intervals intersect
    ]
    assert overlapping, "different keys should run concurrently"


async def test_a_key_whose_jobs_hang_does_not_hold_up_the_other_keys(
    redis: Redis, workers: Workers
) -> None:
    """The send stream's case: an instance whose gateway hangs has a backlog; a send of
    another instance queued after it still goes out at once. Entries waiting behind their
    key's running job used to fill the read-ahead room (here 5), so nothing after them was
    read until the hung key's backlog had drained."""
    release = asyncio.Event()
    handled: list[str] = []

    async def handle(job: Job) -> None:
        if job.payload["instance"] == "dead":
            await release.wait()  # a gateway that never answers
        handled.append(job.payload["instance"])

    await enqueue_many(redis, [(STREAM, {"instance": "dead", "n": n}) for n in range(30)])
    await enqueue(redis, STREAM, {"instance": "live"})
    runtime = workers.runtime()
    runtime.register(
        STREAM,
        handler=handle,
        block_ms=50,
        concurrency=4,
        batch_size=5,
        order_key=lambda payload: str(payload["instance"]),
    )
    workers.start(runtime)
    try:
        await wait_until(lambda: handled == ["live"], within=3)
    finally:
        release.set()
    await wait_until(lambda: len(handled) == 31)
    await wait_until(lambda: _no_pending_and_read(redis, STREAM))


async def test_a_stop_gives_back_the_entries_parked_behind_a_slow_key_in_order(
    redis: Redis, workers: Workers
) -> None:
    """A graceful stop does not run a slow key's whole backlog first: what never started goes
    back to the stream with its attempts unchanged, and the next worker runs it in order."""
    started = asyncio.Event()
    runs: list[tuple[int, int]] = []

    async def slow(job: Job) -> None:
        started.set()
        await asyncio.sleep(0.5)
        runs.append((job.payload["n"], job.attempt))

    await enqueue_many(redis, [(STREAM, {"instance": "slow", "n": n}) for n in range(20)])
    options: dict[str, Any] = {"block_ms": 50, "order_key": lambda payload: "slow"}
    first = workers.runtime()
    first.register(STREAM, handler=slow, **options)
    running = workers.start(first)
    await asyncio.wait_for(started.wait(), 5)
    await wait_until(lambda: _lag_is(redis, STREAM, 0))  # the whole backlog was read

    began = time.monotonic()
    await running.shutdown()

    assert time.monotonic() - began < 3  # one job's run, not the twenty of them
    assert runs == [(0, 0)]
    assert await pending_count(redis, STREAM) == 0
    [info] = await redis.xinfo_groups(STREAM)
    assert await redis.zcard(retry_key(STREAM)) + info["lag"] == 19  # due now, or back already
    second = workers.runtime()
    second.register(STREAM, handler=slow, **options)
    workers.start(second)
    await wait_until(lambda: len(runs) == 20, within=20)
    assert runs == [(n, 0) for n in range(20)]


async def _lag_is(redis: Redis, stream: str, lag: int) -> bool:
    groups = await redis.xinfo_groups(stream)
    return bool(groups) and groups[0]["lag"] == lag


async def test_jobs_without_an_order_key_run_concurrently(redis: Redis, workers: Workers) -> None:
    running = 0
    peak = 0

    async def handle(job: Job) -> None:
        nonlocal running, peak
        running += 1
        peak = max(peak, running)
        await asyncio.sleep(0.05)
        running -= 1

    await enqueue_many(redis, [(STREAM, {"n": n}) for n in range(8)])
    runtime = workers.runtime()
    runtime.register(STREAM, handler=handle, block_ms=50, concurrency=4, order_key=lambda _: None)
    workers.start(runtime)

    await wait_until(lambda: _no_pending_and_read(redis, STREAM))
    assert peak == 4  # bounded by concurrency, and reached


async def _no_pending_and_read(redis: Redis, stream: str) -> bool:
    groups = await redis.xinfo_groups(stream)
    return bool(groups) and int(groups[0]["pending"]) == 0 and groups[0]["lag"] == 0


async def test_batch_handler_partial_failures_are_retried_individually(
    redis: Redis, workers: Workers
) -> None:
    calls: list[list[tuple[int, int]]] = []
    done: Counter[int] = Counter()

    async def handle_batch(jobs: Sequence[Job]) -> Mapping[str, BaseException]:
        calls.append([(job.payload["n"], job.attempt) for job in jobs])
        failures: dict[str, BaseException] = {}
        for job in jobs:
            if job.payload["n"] % 3 == 0 and job.attempt == 0:
                failures[job.entry_id] = TimeoutError("cache write timed out")
            else:
                done[job.payload["n"]] += 1
        return failures

    await enqueue_many(redis, [(STREAM, {"n": n}) for n in range(10)])
    runtime = workers.runtime()
    runtime.register(STREAM, batch_handler=handle_batch, block_ms=50, base_delay=0.01)
    workers.start(runtime)

    await wait_until(lambda: len(done) == 10)
    await wait_until(lambda: _no_pending(redis, STREAM))
    assert set(done.values()) == {1}
    assert calls[0] == [(n, 0) for n in range(10)]  # one batch, in stream order
    retried = sorted(item for call in calls[1:] for item in call)
    assert retried == [(0, 1), (3, 1), (6, 1), (9, 1)]
    assert await redis.xlen(dead_key(STREAM)) == 0


async def test_batch_handler_that_raises_retries_every_job_of_the_batch(
    redis: Redis, workers: Workers
) -> None:
    attempts: list[list[int]] = []

    async def handle_batch(jobs: Sequence[Job]) -> Mapping[str, BaseException]:
        attempts.append(sorted(job.attempt for job in jobs))
        if all(job.attempt == 0 for job in jobs):
            raise ConnectionError("redis pipeline failed")
        return {}

    await enqueue_many(redis, [(STREAM, {"n": n}) for n in range(5)])
    runtime = workers.runtime()
    runtime.register(STREAM, batch_handler=handle_batch, block_ms=50, base_delay=0.01)
    workers.start(runtime)

    await wait_until(lambda: sum(len(batch) for batch in attempts) == 10)
    await wait_until(lambda: _no_pending_and_read(redis, STREAM))
    assert attempts[0] == [0] * 5
    assert sorted(a for batch in attempts[1:] for a in batch) == [1] * 5


async def test_graceful_shutdown_finishes_jobs_already_read_and_acks_them(
    redis: Redis, workers: Workers
) -> None:
    started: list[int] = []
    finished: list[int] = []

    async def slow(job: Job) -> None:
        started.append(job.payload["n"])
        await asyncio.sleep(0.3)
        finished.append(job.payload["n"])

    await enqueue_many(redis, [(STREAM, {"n": n}) for n in range(6)])
    runtime = workers.runtime()
    # Reads 4 entries (batch_size), runs 2 at a time: 2 running and 2 waiting at the stop.
    runtime.register(STREAM, handler=slow, block_ms=50, concurrency=2, batch_size=4)
    running = workers.start(runtime)
    await wait_until(lambda: len(started) == 2)

    await running.shutdown()

    assert sorted(finished) == [0, 1, 2, 3]
    [info] = await redis.xinfo_groups(STREAM)
    assert (info["pending"], info["lag"]) == (0, 2)  # 2 entries left for the next worker
    assert info["consumers"] == 0  # an idle consumer is removed on the way out
    assert not await redis.exists(f"workers:{runtime.consumer_name}")


async def test_shutdown_timeout_leaves_unfinished_jobs_pending_for_another_worker(
    redis: Redis, workers: Workers
) -> None:
    started = asyncio.Event()

    async def stuck(job: Job) -> None:
        started.set()
        await asyncio.sleep(30)

    runtime = workers.runtime(shutdown_timeout=0.2)
    runtime.register(STREAM, handler=stuck, block_ms=50)
    running = workers.start(runtime)
    await enqueue(redis, STREAM, {"n": 1})
    await asyncio.wait_for(started.wait(), 5)

    began = time.monotonic()
    await running.shutdown()

    assert time.monotonic() - began < 2
    assert await pending_count(redis, STREAM) == 1  # not acked: reclaimable
    [consumer] = await redis.xinfo_consumers(STREAM, GROUP)
    assert consumer["name"] == runtime.consumer_name  # kept, since it holds the entry


async def test_runtime_survives_its_connections_being_dropped(
    redis: Redis, workers: Workers
) -> None:
    handled: set[int] = set()

    async def handle(job: Job) -> None:
        await asyncio.sleep(0.005)
        handled.add(job.payload["n"])

    await enqueue_many(redis, [(STREAM, {"n": n}) for n in range(60)])
    runtime = workers.runtime()
    runtime.register(STREAM, handler=handle, block_ms=50, batch_size=10, concurrency=2)
    workers.start(runtime)
    await wait_until(lambda: len(handled) >= 10)

    await drop_connections(redis)

    await wait_until(lambda: len(handled) == 60)
    await wait_until(lambda: _no_pending_and_read(redis, STREAM))


async def test_a_read_whose_answer_was_lost_is_taken_back_before_claim_idle(
    redis: Redis, workers: Workers
) -> None:
    handled: list[Job] = []

    async def handle(job: Job) -> None:
        handled.append(job)

    runtime = workers.runtime(consumer_name="w")
    runtime.register(STREAM, handler=handle, block_ms=50, claim_idle_ms=60_000)
    workers.start(runtime)
    await wait_until(lambda: _group_exists(redis, STREAM))
    # What a dropped connection leaves: Redis delivered the entries to our consumer name and
    # the answer never reached the runtime. One MULTI, so the runtime's blocked read cannot
    # take them first.
    async with redis.pipeline(transaction=True) as pipe:
        for n in range(3):
            pipe.xadd(STREAM, entry_fields(encode_payload({"n": n}), 0))
        pipe.xreadgroup(GROUP, "w", {STREAM: ">"}, count=10)
        await pipe.execute()
    await drop_connections(redis)

    await wait_until(lambda: sorted(job.payload["n"] for job in handled) == [0, 1, 2])
    await wait_until(lambda: _no_pending_and_read(redis, STREAM))


async def test_a_consumer_name_reused_takes_back_its_own_pending_entries_at_start(
    redis: Redis, workers: Workers
) -> None:
    handled: list[Job] = []

    async def handle(job: Job) -> None:
        handled.append(job)

    await enqueue_many(redis, [(STREAM, {"n": n}) for n in range(3)])
    await redis.xgroup_create(STREAM, GROUP, id="0", mkstream=True)
    await redis.xreadgroup(GROUP, "w", {STREAM: ">"}, count=10)  # then the process died
    runtime = workers.runtime(consumer_name="w")
    runtime.register(STREAM, handler=handle, block_ms=50, claim_idle_ms=60_000)
    workers.start(runtime)

    await wait_until(lambda: sorted(job.payload["n"] for job in handled) == [0, 1, 2])
    assert [job.attempt for job in handled] == [1, 1, 1]  # the lost delivery counts as a run
    await wait_until(lambda: _no_pending_and_read(redis, STREAM))


async def _group_exists(redis: Redis, stream: str) -> bool:
    return bool(await redis.exists(stream)) and bool(await redis.xinfo_groups(stream))


async def test_payload_the_order_key_cannot_read_is_dead_lettered(
    redis: Redis, workers: Workers
) -> None:
    handled: list[Job] = []

    async def handle(job: Job) -> None:
        handled.append(job)

    runtime = workers.runtime()
    runtime.register(
        STREAM, handler=handle, block_ms=50, order_key=lambda payload: str(payload["chat"])
    )
    workers.start(runtime)
    await enqueue_many(redis, [(STREAM, {"chat": "a"}), (STREAM, {"no_chat": True})])

    await wait_until(lambda: _dead_count_is(redis, STREAM, 1))
    [letter] = await dead_letters(redis, STREAM)
    assert letter.error_type == "PermanentJobError"
    assert "order_key failed" in letter.error
    await wait_until(lambda: len(handled) == 1)


async def test_two_runtimes_sharing_a_group_split_the_work_and_do_each_job_once(
    redis: Redis, workers: Workers
) -> None:
    handled: list[tuple[str, str]] = []

    def handler_for(consumer: str) -> Any:
        async def handle(job: Job) -> None:
            await asyncio.sleep(0.002)
            handled.append((job.entry_id, consumer))

        return handle

    for name in ("worker-a", "worker-b"):
        runtime = workers.runtime(consumer_name=name)
        runtime.register(STREAM, handler=handler_for(name), block_ms=50, batch_size=10)
        workers.start(runtime)
    await asyncio.sleep(0.1)  # both blocked on XREADGROUP before work arrives
    ids = await enqueue_many(redis, [(STREAM, {"n": n}) for n in range(200)])

    await wait_until(lambda: len(handled) >= 200)
    await wait_until(lambda: _no_pending(redis, STREAM))
    by_entry = Counter(entry_id for entry_id, _ in handled)
    assert set(by_entry) == set(ids)
    assert set(by_entry.values()) == {1}
    by_consumer = Counter(consumer for _, consumer in handled)
    assert by_consumer["worker-a"] > 0
    assert by_consumer["worker-b"] > 0


async def test_a_handler_slower_than_claim_idle_is_not_taken_over(
    redis: Redis, workers: Workers
) -> None:
    runs: list[tuple[str, int]] = []

    def handler_for(consumer: str) -> Any:
        async def handle(job: Job) -> None:
            await asyncio.sleep(0.6)  # four times claim_idle_ms
            runs.append((consumer, job.attempt))

        return handle

    for name in ("worker-a", "worker-b"):
        runtime = workers.runtime(consumer_name=name)
        runtime.register(STREAM, handler=handler_for(name), block_ms=50, claim_idle_ms=150)
        workers.start(runtime)
    await enqueue(redis, STREAM, {"n": 1})

    await wait_until(lambda: len(runs) == 1)
    await asyncio.sleep(0.3)
    assert len(runs) == 1
    assert runs[0][1] == 0
    assert await pending_count(redis, STREAM) == 0


async def test_reclaimed_entry_counts_its_earlier_deliveries_as_attempts(
    redis: Redis, workers: Workers
) -> None:
    await redis.xgroup_create(STREAM, GROUP, id="0", mkstream=True)
    entry_id = await enqueue(redis, STREAM, {"n": 1})
    await redis.xreadgroup(GROUP, "dead-worker", {STREAM: ">"}, count=1)  # its worker died
    runs: list[Job] = []

    async def handle(job: Job) -> None:
        runs.append(job)

    runtime = workers.runtime()
    runtime.register(STREAM, handler=handle, block_ms=50, claim_idle_ms=50)
    workers.start(runtime)

    await wait_until(lambda: len(runs) == 1)
    assert (runs[0].entry_id, runs[0].attempt) == (entry_id, 1)
    await wait_until(lambda: _no_pending(redis, STREAM))


async def test_entry_that_keeps_killing_its_workers_ends_in_dead_letters(
    redis: Redis, workers: Workers
) -> None:
    await redis.xgroup_create(STREAM, GROUP, id="0", mkstream=True)
    entry_id = await enqueue(redis, STREAM, {"n": 1})
    # Three deliveries, none acknowledged: three workers died running it.
    await redis.xreadgroup(GROUP, "dead-1", {STREAM: ">"}, count=1)
    await redis.xclaim(STREAM, GROUP, "dead-2", 0, [entry_id])
    await redis.xclaim(STREAM, GROUP, "dead-3", 0, [entry_id])
    runs: list[Job] = []

    async def handle(job: Job) -> None:
        runs.append(job)

    runtime = workers.runtime()
    runtime.register(STREAM, handler=handle, block_ms=50, claim_idle_ms=50, max_attempts=3)
    workers.start(runtime)

    await wait_until(lambda: _dead_count_is(redis, STREAM, 1))
    [letter] = await dead_letters(redis, STREAM)
    assert (letter.error_type, letter.attempts, letter.entry_id) == (
        "DeliveriesExhausted",
        3,
        entry_id,
    )
    assert runs == []
    await wait_until(lambda: _no_pending(redis, STREAM))


async def test_acknowledged_entries_are_trimmed_but_pending_ones_kept(
    redis: Redis, workers: Workers
) -> None:
    await redis.xgroup_create(STREAM, GROUP, id="0", mkstream=True)
    held = await enqueue(redis, STREAM, {"n": 0})
    await redis.xreadgroup(GROUP, "slow-worker", {STREAM: ">"}, count=1)
    later = await enqueue_many(redis, [(STREAM, {"n": n}) for n in range(1, 6)])

    async def handle(job: Job) -> None:
        return None

    runtime = workers.runtime(trim_interval=0.05)
    runtime.register(STREAM, handler=handle, block_ms=50)
    workers.start(runtime)
    await wait_until(lambda: _only_held_pending(redis, STREAM))
    await asyncio.sleep(0.2)  # several trims
    assert await redis.xlen(STREAM) == 6  # nothing before the pending entry may go

    await redis.xack(STREAM, GROUP, held)
    await wait_until(lambda: _length_is(redis, STREAM, 1))
    [(kept, _)] = await entries(redis, STREAM)
    assert kept == later[-1]  # the last delivered entry marks the group's position
    [info] = await redis.xinfo_groups(STREAM)
    assert info["lag"] == 0  # head trimming keeps Redis able to report the backlog


async def _only_held_pending(redis: Redis, stream: str) -> bool:
    [info] = await redis.xinfo_groups(stream)
    return int(info["pending"]) == 1 and info["lag"] == 0


async def _length_is(redis: Redis, stream: str, length: int) -> bool:
    return await redis.xlen(stream) == length


async def test_consumers_of_dead_workers_are_pruned_when_idle_and_empty(
    redis: Redis, workers: Workers
) -> None:
    await redis.xgroup_create(STREAM, GROUP, id="0", mkstream=True)
    await redis.xreadgroup(GROUP, "gone-empty", {STREAM: ">"}, count=1)  # creates it, no entry
    await enqueue(redis, STREAM, {"n": 1})
    await redis.xreadgroup(GROUP, "gone-holding", {STREAM: ">"}, count=1)

    async def handle(job: Job) -> None:
        return None

    runtime = workers.runtime(trim_interval=0.05, stale_consumer_ms=150)
    runtime.register(STREAM, handler=handle, block_ms=20)
    workers.start(runtime)

    await wait_until(lambda: _consumer_names_lack(redis, STREAM, "gone-empty"))
    names = {info["name"] for info in await redis.xinfo_consumers(STREAM, GROUP)}
    assert "gone-holding" in names  # deleting it would drop its pending entry


async def _consumer_names_lack(redis: Redis, stream: str, name: str) -> bool:
    return name not in {info["name"] for info in await redis.xinfo_consumers(stream, GROUP)}


async def test_job_enqueued_before_any_worker_existed_is_handled(
    redis: Redis, workers: Workers
) -> None:
    await enqueue(redis, STREAM, {"n": 1})  # no group yet: the stream is created by XADD
    seen: list[Job] = []

    async def handle(job: Job) -> None:
        seen.append(job)

    runtime = workers.runtime()
    runtime.register(STREAM, handler=handle, block_ms=50)
    workers.start(runtime)
    await wait_until(lambda: len(seen) == 1)


async def test_one_runtime_serves_several_streams(redis: Redis, workers: Workers) -> None:
    seen: list[str] = []

    async def handle(job: Job) -> None:
        seen.append(job.stream)

    runtime = workers.runtime()
    runtime.register("test:a", handler=handle, block_ms=50)
    runtime.register("test:b", handler=handle, block_ms=50)
    workers.start(runtime)
    await enqueue_many(redis, [("test:a", {"n": 1}), ("test:b", {"n": 2})])

    await wait_until(lambda: sorted(seen) == ["test:a", "test:b"])
    assert runtime.streams == ("test:a", "test:b")


async def _noop(job: Job) -> None:
    return None


async def _noop_batch(jobs: Sequence[Job]) -> Mapping[str, BaseException]:
    return {}


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({}, "exactly one of handler and batch_handler"),
        ({"handler": _noop, "batch_handler": _noop_batch}, "exactly one"),
        ({"batch_handler": _noop_batch, "order_key": lambda _: "k"}, "order_key needs"),
        ({"handler": _noop, "concurrency": 0}, "must be >= 1"),
        ({"handler": _noop, "base_delay": 5.0, "max_delay": 1.0}, "base_delay <= max_delay"),
    ],
)
def test_register_refuses_inconsistent_options(
    redis: Redis, options: dict[str, Any], message: str
) -> None:
    runtime = WorkerRuntime(redis)
    with pytest.raises(ValueError, match=message):
        runtime.register(STREAM, **options)


def test_register_refuses_a_stream_twice(redis: Redis) -> None:
    runtime = WorkerRuntime(redis)
    runtime.register(STREAM, handler=_noop)
    with pytest.raises(ValueError, match="already registered"):
        runtime.register(STREAM, handler=_noop)


async def test_run_without_streams_is_refused(redis: Redis) -> None:
    with pytest.raises(RuntimeError, match="register at least one stream"):
        await WorkerRuntime(redis).run(asyncio.Event())


async def test_runtime_needs_decoded_replies() -> None:
    raw = Redis(decode_responses=False)
    try:
        with pytest.raises(ValueError, match="decode_responses=True"):
            WorkerRuntime(raw)
    finally:
        await raw.aclose()


async def _entry_held_by_dead_workers(redis: Redis, workers: int) -> str:
    """One entry that `workers` consumers read in turn and died holding."""
    await redis.xgroup_create(STREAM, GROUP, id="0", mkstream=True)
    entry_id = await enqueue(redis, STREAM, {"n": 1})
    await redis.xreadgroup(GROUP, "dead-1", {STREAM: ">"}, count=1)
    for n in range(2, workers + 1):
        await redis.xclaim(STREAM, GROUP, f"dead-{n}", 0, [entry_id])
    return entry_id


def _start_with_hook(
    workers: Workers, handle: Handler, exhausted: ExhaustedHook, *, max_attempts: int
) -> None:
    runtime = workers.runtime()
    runtime.register(
        STREAM,
        handler=handle,
        block_ms=50,
        claim_idle_ms=50,
        max_attempts=max_attempts,
        on_exhausted=exhausted,
    )
    workers.start(runtime)


async def test_an_exhausted_entry_is_handed_to_its_hook_before_it_is_buried(
    redis: Redis, workers: Workers
) -> None:
    """The handler never saw the failures (its workers died): the owner may record the loss."""
    entry_id = await _entry_held_by_dead_workers(redis, 2)
    told: list[tuple[Job, str, int]] = []

    async def handle(job: Job) -> None:
        raise AssertionError("an exhausted entry is not run again")

    async def exhausted(job: Job, error: BaseException) -> None:
        # Still unacknowledged while the hook runs: a crash here tells the next worker again.
        told.append((job, type(error).__name__, await redis.xlen(dead_key(STREAM))))

    _start_with_hook(workers, handle, exhausted, max_attempts=2)

    await wait_until(lambda: _dead_count_is(redis, STREAM, 1))
    [(job, error_type, dead_before)] = told
    assert (job.entry_id, job.payload, job.attempt) == (entry_id, {"n": 1}, 2)
    assert (error_type, dead_before) == ("DeliveriesExhausted", 0)
    await wait_until(lambda: _no_pending(redis, STREAM))


async def test_a_failing_exhausted_hook_still_buries_the_entry(
    redis: Redis, workers: Workers
) -> None:
    entry_id = await _entry_held_by_dead_workers(redis, 1)

    async def handle(job: Job) -> None:
        return None

    async def exhausted(job: Job, error: BaseException) -> None:
        raise RuntimeError("database away")

    _start_with_hook(workers, handle, exhausted, max_attempts=1)

    await wait_until(lambda: _dead_count_is(redis, STREAM, 1))
    [letter] = await dead_letters(redis, STREAM)
    assert (letter.entry_id, letter.error_type) == (entry_id, "DeliveriesExhausted")
    await wait_until(lambda: _no_pending(redis, STREAM))
