"""A worker SIGKILLed during the gateway call: the next worker adopts the gateway's echo instead
of sending the message a second time (sending.py, rule 2)."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

import httpx

from tests.conftest import Factory, login
from tests.evolution.harness import rows
from tests.messaging.test_sending import CUSTOMER, _connected_instance, _until
from tests.servers import RedisProcess
from zapcrm.app import create_app
from zapcrm.config import Settings
from zapcrm.db import Database
from zapcrm.models import Role
from zapcrm.runtime import Runtime


async def _worker(settings: Settings, redis_url: str) -> asyncio.subprocess.Process:
    env = {
        **os.environ,
        "DATABASE_URL": settings.database_url,
        "REDIS_URL": redis_url,
        "WORKER_CLAIM_IDLE_MS": "1000",
        "WORKER_METRICS_PORT": "0",
        "LOG_LEVEL": "warning",
    }
    zapcrm = str(Path(sys.executable).with_name("zapcrm"))
    return await asyncio.create_subprocess_exec(zapcrm, "worker", env=env)


async def test_a_worker_killed_during_the_call_does_not_cause_a_second_send(
    simulator: tuple[str, str, str],
    live_server: str,
    private_redis: RedisProcess,
    settings: Settings,
    db: Database,
    factory: Factory,
    runtime: Runtime,
) -> None:
    company_id, name, _, sim = await _connected_instance(simulator, db, factory, runtime)
    inbound = {"from": CUSTOMER, "type": "text", "text": "Oi"}
    await sim.post(f"/_sim/instances/{name}/inbound", json=inbound)
    found = await _until(
        db, "select id from evolution_conversations where company_id = :c", {"c": company_id}, bool
    )
    # The gateway takes ~2 s to answer (send_latency is in simulated seconds).
    await sim.put(f"/_sim/faults?instance={name}", json={"send_latency": 100})
    app = create_app(settings.model_copy(update={"redis_url": private_redis.url}))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            headers = await login(client, await factory.user(company_id, Role.ADMIN))
            sent = await client.post(
                f"/api/conversations/{found[0]['id']}/messages",
                json={"text": "Uma vez só"},
                headers=headers,
            )
    message_id = sent.json()["id"]
    first = await _worker(settings, private_redis.url)
    await _until(
        db,
        "select send_attempted_at from evolution_messages where id = :id",
        {"id": message_id},
        lambda r: r and r[0]["send_attempted_at"] is not None,
    )
    first.send_signal(signal.SIGKILL)  # mid-call: the gateway goes on and sends
    await first.wait()
    second = await _worker(settings, private_redis.url)
    try:
        # The new worker reclaims the entry, sees the recorded attempt and waits (up to
        # ECHO_GRACE, 30 s) for the gateway's echo instead of sending again.
        await _until(
            db,
            "select key_id from evolution_messages where id = :id",
            {"id": message_id},
            lambda r: r and r[0]["key_id"] is not None,
            seconds=50,
        )
    finally:
        second.send_signal(signal.SIGTERM)
        await asyncio.wait_for(second.wait(), 30)
    assert len((await sim.get(f"/_sim/instances/{name}/sent")).json()) == 1
    ours = await rows(
        db, "select count(*) as n from evolution_messages where conversation_id = :c and from_me",
        c=found[0]["id"],
    )  # fmt: skip
    assert ours == [{"n": 1}]
    await sim.aclose()
