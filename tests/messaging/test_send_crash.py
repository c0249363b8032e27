"""A worker SIGKILLed during the gateway call: the next worker adopts the gateway's echo instead
of sending the message a second time (sending.py, rule 2)."""

from __future__ import annotations

import asyncio
import signal

import httpx

from tests.conftest import login
from tests.messaging.gateway import CustomerChat, Gateway, count_from_me, until
from tests.messaging.worker_process import start_worker
from tests.servers import RedisProcess
from zapcrm.app import create_app
from zapcrm.config import Settings


async def test_a_worker_killed_during_the_call_does_not_cause_a_second_send(
    gateway: Gateway,
    customer_chat: CustomerChat,
    private_redis: RedisProcess,
    settings: Settings,
) -> None:
    # The gateway takes ~2 s to answer (send_latency is in simulated seconds).
    await gateway.set_faults(send_latency=100)
    app = create_app(settings.model_copy(update={"redis_url": private_redis.url}))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            sent = await client.post(
                f"/api/conversations/{customer_chat.conversation_id}/messages",
                json={"text": "Uma vez só"},
                headers=await login(client, customer_chat.admin),
            )
    message_id = sent.json()["id"]
    first = await start_worker(settings, private_redis.url)
    await until(
        gateway.db,
        "select send_attempted_at from evolution_messages where id = :id",
        {"id": message_id},
        lambda r: r and r[0]["send_attempted_at"] is not None,
    )
    first.send_signal(signal.SIGKILL)  # mid-call: the gateway goes on and sends
    await first.wait()
    second = await start_worker(settings, private_redis.url)
    try:
        # The new worker reclaims the entry, sees the recorded attempt and waits (up to
        # ECHO_GRACE, 30 s) for the gateway's echo instead of sending again.
        await gateway.until_keyed(message_id, seconds=50)
    finally:
        second.send_signal(signal.SIGTERM)
        await asyncio.wait_for(second.wait(), 30)
    assert len(await gateway.sent()) == 1
    assert await count_from_me(gateway.db, customer_chat.conversation_id) == 1
