"""The live-event hub survives a lost Redis connection and tells its readers to read again.

Redis pub/sub keeps nothing for a subscriber that was away, and redis-py reconnects and
subscribes again on its own: without a word from the hub, an open page would simply miss what
was published meanwhile. The connection is killed for real (`CLIENT KILL TYPE pubsub`).
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from typing import Any

import httpx
import orjson

from tests.conftest import Factory
from tests.live import SseReader, token_headers
from zapcrm.messaging import realtime
from zapcrm.messaging.realtime import RealtimeHub
from zapcrm.models import Role
from zapcrm.runtime import Runtime


async def _kill_pubsub_connections(runtime: Runtime) -> None:
    killed = await runtime.redis.client_kill_filter(_type="pubsub")
    assert int(killed) >= 1


async def _kill_until_ended(runtime: Runtime, reader: SseReader) -> None:
    """The app's hub may be between connections (an earlier test killed its last one while
    no reader was there): kill whatever is connected until the stream ends."""
    for _ in range(20):
        await runtime.redis.client_kill_filter(_type="pubsub")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(reader.ended.wait(), 0.5)
            return
    raise AssertionError(f"the stream never ended: {reader.events!r}")


async def _next(queue: asyncio.Queue[dict[str, Any]]) -> dict[str, Any]:
    return await asyncio.wait_for(queue.get(), timeout=10)


async def _until_delivered(
    runtime: Runtime, company_id: uuid.UUID, queue: asyncio.Queue[dict[str, Any]]
) -> dict[str, Any]:
    """Publish until the reader gets it (what is published before the resubscription is lost
    by the nature of pub/sub: that is what the reset is for)."""
    for attempt in range(50):
        await realtime.publish(
            runtime.redis, company_id, realtime.encode_event("probe", data={"n": attempt})
        )
        try:
            while realtime.is_reset(event := await asyncio.wait_for(queue.get(), timeout=0.2)):
                pass  # one per failure the hub noticed (redis-py's reconnect, the pump's error)
            return event
        except TimeoutError:
            continue
    raise AssertionError("the hub never delivered again")


async def test_a_dropped_connection_resets_every_reader_and_events_flow_again(
    runtime: Runtime,
) -> None:
    hub = RealtimeHub(runtime.redis)
    first, second = uuid.uuid4(), uuid.uuid4()
    readers = [await hub.subscribe(first), await hub.subscribe(first), await hub.subscribe(second)]
    try:
        assert (await _until_delivered(runtime, first, readers[0]))["type"] == "probe"
        await _next(readers[1])  # the same probe
        await _kill_pubsub_connections(runtime)
        for queue in readers:
            assert realtime.is_reset(await _next(queue))
        delivered = await _until_delivered(runtime, second, readers[2])
        assert delivered["type"] == "probe"
    finally:
        for company_id, queue in zip((first, first, second), readers, strict=True):
            await hub.unsubscribe(company_id, queue)
        await hub.close()


async def test_readers_leaving_and_coming_back_keep_the_pump_reading(runtime: Runtime) -> None:
    """The last reader of a company leaving drops its channel; a page opened right after (a
    navigation) must still get events."""
    hub = RealtimeHub(runtime.redis)
    company_id = uuid.uuid4()
    try:
        for _ in range(5):
            queue = await hub.subscribe(company_id)
            assert (await _until_delivered(runtime, company_id, queue))["type"] == "probe"
            await hub.unsubscribe(company_id, queue)
    finally:
        await hub.close()


def test_a_reset_is_not_an_event_anyone_publishes() -> None:
    published = orjson.loads(realtime.encode_event("message.created"))
    assert not realtime.is_reset(published)
    assert realtime.is_reset({"type": realtime.RESET_TYPE})


async def test_after_a_reset_emptied_the_hub_new_readers_get_events(runtime: Runtime) -> None:
    """Every stream ends on a reset, so the hub is often empty when the pages come back."""
    hub = RealtimeHub(runtime.redis)
    company_id = uuid.uuid4()
    try:
        queue = await hub.subscribe(company_id)
        await _until_delivered(runtime, company_id, queue)
        await _kill_pubsub_connections(runtime)
        assert realtime.is_reset(await _next(queue))
        await hub.unsubscribe(company_id, queue)
        await asyncio.sleep(1.5)  # the pump's back-off and rebuild, with no reader left
        queue = await hub.subscribe(company_id)
        assert (await _until_delivered(runtime, company_id, queue))["type"] == "probe"
        await hub.unsubscribe(company_id, queue)
    finally:
        await hub.close()


async def test_a_connection_lost_while_nobody_listened_resets_no_later_reader(
    runtime: Runtime,
) -> None:
    """A reset tells a reader it may have missed events; one who was not there missed none.
    (It used to reach the next page opened after an idle loss, whose stream then ended.)"""
    hub = RealtimeHub(runtime.redis)
    company_id = uuid.uuid4()
    try:
        queue = await hub.subscribe(company_id)
        await _until_delivered(runtime, company_id, queue)
        await hub.unsubscribe(company_id, queue)
        await asyncio.sleep(1.2)  # the pump stops once its read times out with nobody left
        await _kill_pubsub_connections(runtime)
        queue = await hub.subscribe(company_id)
        event = realtime.encode_event("probe")
        for _ in range(50):
            await realtime.publish(runtime.redis, company_id, event)
            with contextlib.suppress(TimeoutError):
                first = await asyncio.wait_for(queue.get(), timeout=0.2)
                break
        else:
            raise AssertionError("the hub never delivered")
        assert first["type"] == "probe"
        await hub.unsubscribe(company_id, queue)
    finally:
        await hub.close()


async def test_the_api_stream_says_reset_and_ends_and_a_client_back_gets_events_again(
    live_server: str, factory: Factory, runtime: Runtime
) -> None:
    company_id = await factory.company()
    supervisor = await factory.user(company_id, Role.SUPERVISOR)
    async with httpx.AsyncClient(base_url=live_server, timeout=10) as http:
        headers = await token_headers(http, supervisor)
        first = SseReader(http, headers)
        await asyncio.wait_for(first.ready.wait(), 10)
        await _kill_until_ended(runtime, first)
        assert first.events[-1] == {"type": realtime.RESET_TYPE}
        await first.close()
        again = SseReader(http, headers)
        try:
            await asyncio.wait_for(again.ready.wait(), 10)
            for attempt in range(50):
                event = realtime.encode_event("probe", data={"n": attempt})
                await realtime.publish(runtime.redis, company_id, event)
                if any(seen["type"] == "probe" for seen in again.events):
                    break
                await asyncio.sleep(0.2)
            assert any(seen["type"] == "probe" for seen in again.events), again.events
        finally:
            await again.close()


async def test_a_reader_that_falls_behind_is_reset_instead_of_silently_missing_events(
    runtime: Runtime,
) -> None:
    hub = RealtimeHub(runtime.redis, queue_size=3)
    company_id = uuid.uuid4()
    slow, fast = await hub.subscribe(company_id), await hub.subscribe(company_id)
    try:
        await _until_delivered(runtime, company_id, slow)
        while not fast.empty():
            fast.get_nowait()
        for n in range(4):  # one more than the slow reader's queue holds
            await realtime.publish(
                runtime.redis, company_id, realtime.encode_event("order", data={"n": n})
            )
            assert (await _next(fast))["data"] == {"n": n}
        await realtime.publish(runtime.redis, company_id, realtime.encode_event("after"))
        assert (await _next(fast))["type"] == "after"
        # The three events that fitted are gone with the fourth: what the reader gets is a
        # reset (its page reads everything again), then what came after it.
        assert realtime.is_reset(await _next(slow))
        assert (await _next(slow))["type"] == "after"
        assert slow.empty()
    finally:
        await hub.unsubscribe(company_id, slow)
        await hub.unsubscribe(company_id, fast)
        await hub.close()
