"""The simulator drives zapcrm end to end: a customer writes on the simulated WhatsApp, the
webhook lands in Postgres, the worker fills the cache and an HTTP client receives it live."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx

from tests.conftest import SIMULATOR_KEY as GLOBAL_KEY
from tests.conftest import Factory
from tests.evolution.harness import rows
from tests.live import SseReader, register_simulated_instance, token_headers
from zapcrm.db import Database
from zapcrm.messaging import cache
from zapcrm.models import Role
from zapcrm.runtime import Runtime


async def test_customer_message_reaches_db_cache_and_sse(
    simulator: tuple[str, str, str],
    live_server: str,
    live_worker: None,
    db: Database,
    factory: Factory,
    runtime: Runtime,
) -> None:
    sim_url, name, _token = simulator
    company_id = await register_simulated_instance(simulator, db, factory, runtime)
    supervisor = await factory.user(company_id, Role.SUPERVISOR)
    control = {"apikey": GLOBAL_KEY}
    async with (
        httpx.AsyncClient(base_url=live_server, timeout=10) as app,
        httpx.AsyncClient(base_url=sim_url, timeout=10, headers=control) as sim,
    ):
        reader = SseReader(app, await token_headers(app, supervisor))
        await asyncio.wait_for(reader.ready.wait(), 10)
        customer = await sim.post(
            "/_sim/customers",
            json={"phone": "5531987654321", "name": "Dona Cida", "legacy_without_ninth": True},
        )
        assert customer.status_code == 201, customer.text
        # Each delivery three times, as a flaky Evolution would.
        faults = await sim.put(f"/_sim/faults?instance={name}", json={"duplicate_deliveries": 3})
        assert faults.status_code == 200, faults.text
        sent = await sim.post(
            f"/_sim/instances/{name}/inbound",
            json={"from": "5531987654321", "type": "text", "text": "Quero encomendar um bolo"},
        )
        assert sent.status_code == 201, sent.text

        event = await reader.wait_for(
            lambda e: (
                e["type"] == "message.created"
                and e["data"]["message"]["body"] == "Quero encomendar um bolo"
            )
        )
        message = event["data"]["message"]
        assert event["data"]["conversation"]["contact"]["name"] == "Dona Cida"
        assert await runtime.redis.exists(cache.message_key(message["id"]))
        await sim.post("/_sim/drain")
        stored = await rows(
            db,
            "select c.remote_jid, count(m.id) as messages from evolution_conversations c"
            " join evolution_messages m on m.conversation_id = c.id where c.company_id = :c"
            " group by 1",
            c=company_id,
        )
        # One conversation under the canonical number, one message despite the duplicates.
        assert stored == [{"remote_jid": "5531987654321@s.whatsapp.net", "messages": 1}]
        await reader.close()


async def test_media_without_inline_base64_is_fetched_from_the_gateway(
    simulator: tuple[str, str, str],
    live_server: str,
    live_worker: None,
    db: Database,
    factory: Factory,
    runtime: Runtime,
) -> None:
    sim_url, name, _token = simulator
    company_id = await register_simulated_instance(simulator, db, factory, runtime)
    async with httpx.AsyncClient(
        base_url=sim_url, timeout=10, headers={"apikey": GLOBAL_KEY}
    ) as sim:
        await sim.post("/_sim/customers", json={"phone": "5511912345678", "name": "Bia"})
        sent = await sim.post(
            f"/_sim/instances/{name}/inbound",
            json={"from": "5511912345678", "type": "image", "caption": "o bolo"},
        )
        assert sent.status_code == 201, sent.text
    for _ in range(100):
        stored = await rows(
            db,
            "select media_status, media_path, media_mimetype from evolution_messages"
            " where company_id = :c and type = 'image'",
            c=company_id,
        )
        if stored and stored[0]["media_status"] == "stored":
            break
        await asyncio.sleep(0.1)
    assert stored[0]["media_status"] == "stored", stored
    path = Path(runtime.settings.media_dir) / stored[0]["media_path"]
    assert path.read_bytes()[:2] == b"\xff\xd8"  # a JPEG, fetched with the instance token
