"""Entries read by a worker that died are taken over by `zapcrm worker`, which stops cleanly."""

from __future__ import annotations

import asyncio
import signal
import socket

import httpx
from redis.asyncio import Redis

from tests.conftest import Factory
from tests.evolution.harness import new_instance, post, rows, text_message
from tests.messaging.worker_process import start_worker
from tests.servers import RedisProcess
from zapcrm.app import create_app
from zapcrm.config import Settings
from zapcrm.db import Database
from zapcrm.messaging import cache
from zapcrm.outbox import INCOMING_STREAM

MESSAGES = 20


async def test_a_dead_consumers_entries_are_reclaimed_and_all_handled(
    private_redis: RedisProcess, settings: Settings, db: Database, factory: Factory
) -> None:
    instance = await new_instance(db, factory)
    app = create_app(settings.model_copy(update={"redis_url": private_redis.url}))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            for index in range(MESSAGES):
                body = text_message(
                    f"KILL{index}", remote_jid=f"55119800000{index:02d}@s.whatsapp.net"
                )
                assert (await post(client, instance.envelope(body))).status_code == 200

    redis = Redis.from_url(private_redis.url, decode_responses=True)
    # A worker read every entry and was SIGKILLed before acknowledging any of them.
    await redis.xgroup_create(INCOMING_STREAM, "zapcrm", id="0", mkstream=True)
    await redis.xreadgroup("zapcrm", "killed-worker", {INCOMING_STREAM: ">"}, count=1000)
    assert (await redis.xpending(INCOMING_STREAM, "zapcrm"))["pending"] == MESSAGES

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        metrics_port = int(sock.getsockname()[1])
    worker = await start_worker(settings, private_redis.url, metrics_port=metrics_port)
    try:
        message_ids = [
            row["id"]
            for row in await rows(
                db, "select id from evolution_messages where instance_id = :i",
                i=instance.instance_id,
            )
        ]  # fmt: skip
        assert len(message_ids) == MESSAGES
        for _ in range(150):
            pending = await redis.xpending(INCOMING_STREAM, "zapcrm")
            cached = await redis.exists(*(cache.message_key(mid) for mid in message_ids))
            if pending["pending"] == 0 and cached == MESSAGES:
                break
            await asyncio.sleep(0.1)
        assert pending["pending"] == 0
        assert cached == MESSAGES
        async with httpx.AsyncClient() as http:
            exported = (await http.get(f"http://127.0.0.1:{metrics_port}/metrics")).text
        assert 'zapcrm_queue_processed_total{stream="evolution:incoming-messages"}' in exported
    finally:
        worker.send_signal(signal.SIGTERM)
        code = await asyncio.wait_for(worker.wait(), 30)
        await redis.aclose()
    assert code == 0  # graceful shutdown on SIGTERM
