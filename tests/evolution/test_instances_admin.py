"""Instance administration against the simulator: create with the global key, webhook pointed
at us, QR code, pairing reaching us by webhook, live state, logout; register with a token."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import httpx
import pytest
from pydantic import SecretStr

from tests.conftest import SIMULATOR_KEY, Factory, login
from tests.evolution.harness import rows
from zapcrm.app import create_app
from zapcrm.config import Settings
from zapcrm.db import Database
from zapcrm.evolution.admin import webhook_events
from zapcrm.evolution.simulator import SimulatorServer
from zapcrm.models import Role


@pytest.fixture
async def bare_simulator(live_server: str) -> AsyncIterator[str]:
    """A simulator with no instance yet (zapcrm will create it)."""
    server = SimulatorServer(
        "127.0.0.1", 0, global_key=SIMULATOR_KEY, instance=None, mode="test",
        time_scale=0.02, log_level="warning",
    )  # fmt: skip
    task = asyncio.create_task(server.serve())
    await asyncio.wait_for(server.wait_ready(), 10)
    try:
        yield f"http://127.0.0.1:{server.port}"
    finally:
        server.stop()
        await asyncio.wait_for(task, 10)


async def test_admin_creates_pairs_and_logs_out_an_instance(
    bare_simulator: str, live_server: str, settings: Settings, db: Database, factory: Factory
) -> None:
    company = await factory.company()
    admin = await factory.user(company, Role.ADMIN)
    app_settings = settings.model_copy(
        update={
            "public_base_url": live_server,
            "evolution_server_url": bare_simulator,
            "evolution_global_key": SecretStr(SIMULATOR_KEY),
        }
    )
    app = create_app(app_settings)
    name = f"loja-{uuid.uuid4().hex[:6]}"
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with (
            httpx.AsyncClient(transport=transport, base_url="http://t") as client,
            httpx.AsyncClient(base_url=bare_simulator, headers={"apikey": SIMULATOR_KEY}) as sim,
        ):
            headers = await login(client, admin)
            operator = await login(client, await factory.user(company, Role.OPERATOR))
            assert (await client.get("/api/admin/instances", headers=operator)).status_code == 403
            created = await client.post(
                "/api/admin/instances", json={"name": name}, headers=headers
            )
            assert created.status_code == 201, created.text
            body = created.json()
            assert "Evolution API" in body["notice"]
            instance_id = body["instance"]["id"]
            hook = (await sim.get(f"/webhook/find/{name}")).json()
            assert hook["url"] == live_server + "/webhooks/evolution"
            assert sorted(hook["events"]) == webhook_events()
            assert "apikey" in hook["headers"]
            qrcode = await client.get(f"/api/admin/instances/{instance_id}/qrcode", headers=headers)
            assert qrcode.status_code == 200, qrcode.text
            assert qrcode.json().get("base64", "").startswith("data:image/png;base64,")

            # The phone scans the QR: the gateway's connection.update reaches our webhook.
            await sim.post(f"/_sim/instances/{name}/connection", json={"action": "pair"})
            for _ in range(100):
                found = await rows(
                    db,
                    "select connection_state from evolution_instances where id = :i",
                    i=instance_id,
                )
                if found[0]["connection_state"] == "open":
                    break
                await asyncio.sleep(0.1)
            assert found[0]["connection_state"] == "open"
            state = await client.get(f"/api/admin/instances/{instance_id}/state", headers=headers)
            assert state.json() == {"state": "open"}
            out = await client.post(f"/api/admin/instances/{instance_id}/logout", headers=headers)
            assert out.status_code == 204
            listed = (await client.get("/api/admin/instances", headers=headers)).json()
            assert [(i["external_id"], i["connection_state"]) for i in listed["instances"]] == [
                (name, "close")
            ]
            # Registering an existing instance checks its token first.
            wrong = await client.post(
                "/api/admin/instances",
                json={"name": name, "token": "not-the-token"},
                headers=headers,
            )
            assert wrong.status_code == 422
