"""Instance credential rotation against the simulator: a token changed on the gateway reaches
zapcrm through a mismatched webhook, the admin action or the worker's schedule; no delivery is
lost on the way, the old key is refused afterwards, and bad keys cannot hammer the gateway."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import signal
import socket
import sys
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client import REGISTRY
from pydantic import SecretStr

from tests.conftest import SIMULATOR_KEY, Factory, login
from tests.evolution.harness import post, rows, text_message
from tests.live import register_simulated_instance
from tests.net import ANY_HOST, silent_server
from tests.servers import RedisProcess, ServerThread
from zapcrm.app import create_app
from zapcrm.config import Settings
from zapcrm.db import Database
from zapcrm.evolution.credentials import CredentialBox
from zapcrm.evolution.instances import register_instance
from zapcrm.evolution.rotation import ROTATED_ACTION, CredentialSync, gateway_tokens
from zapcrm.evolution.simulator import SimulatorServer
from zapcrm.models import Role
from zapcrm.runtime import Runtime

CUSTOMER = "5511987654321"


@dataclass
class Gateway:
    """A simulator whose instance webhook posts to an app of the test's own."""

    url: str
    name: str
    token: str
    app_url: str
    control: httpx.AsyncClient
    instance_id: uuid.UUID
    company_id: uuid.UUID

    async def rotate(self, token: str) -> None:
        changed = await self.control.post(
            f"/_sim/instances/{self.name}/token", json={"token": token}
        )
        assert changed.status_code == 200, changed.text

    async def customer_says(self, text: str) -> str:
        said = await self.control.post(
            f"/_sim/instances/{self.name}/inbound", json={"from": CUSTOMER, "text": text}
        )
        assert said.status_code == 201, said.text
        return str(said.json()["data"]["key"]["id"])

    async def fetch_calls(self) -> int:
        logged = await self.control.get(
            "/_sim/requests", params={"path": "/instance/fetchInstances"}
        )
        return len(logged.json())

    async def delivery_statuses(self) -> list[int | None]:
        await self.control.post("/_sim/drain")
        return [
            attempt["status"] for attempt in (await self.control.get("/_sim/deliveries")).json()
        ]

    async def webhook_header(self) -> str | None:
        hook = (await self.control.get(f"/webhook/find/{self.name}")).json()
        header: str | None = hook["headers"].get("apikey")
        return header


def _app_settings(settings: Settings, **overrides: Any) -> Settings:
    values: dict[str, Any] = {"evolution_global_key": SecretStr(SIMULATOR_KEY)} | overrides
    return settings.model_copy(update=values)


@contextlib.contextmanager
def _serving(settings: Settings) -> Iterator[str]:
    thread = ServerThread(create_app(settings), lifespan="on")
    base_url = thread.start()
    try:
        yield base_url
    finally:
        thread.stop()


@contextlib.asynccontextmanager
async def _gateway(
    app_url: str, db: Database, factory: Factory, runtime: Runtime
) -> AsyncIterator[Gateway]:
    """A simulator whose instance zapcrm knows before its first webhook (so none is refused)."""
    name = f"rot-{uuid.uuid4().hex[:8]}"
    token = f"tok-old-{uuid.uuid4().hex}"
    server = SimulatorServer(
        "127.0.0.1", 0, global_key=SIMULATOR_KEY, instance=None, mode="test", time_scale=0.02,
        log_level="warning",
    )  # fmt: skip
    task = asyncio.create_task(server.serve())
    await asyncio.wait_for(server.wait_ready(), 10)
    url = f"http://127.0.0.1:{server.port}"
    try:
        company_id = await register_simulated_instance((url, name, token), db, factory, runtime)
        found = await rows(db, "select id from evolution_instances where server_url = :u", u=url)
        async with httpx.AsyncClient(
            base_url=url, timeout=10, headers={"apikey": SIMULATOR_KEY}
        ) as control:
            hook = {"url": app_url + "/webhooks/evolution", "headers": {"apikey": token}}
            created = await control.post(
                "/instance/create",
                json={"instanceName": name, "integration": "WHATSAPP-BAILEYS", "token": token,
                      "webhook": hook},
            )  # fmt: skip
            assert created.status_code == 201, created.text
            paired = await control.post(
                f"/_sim/instances/{name}/connection", json={"action": "pair"}
            )
            assert paired.status_code == 200
            added = await control.post("/_sim/customers", json={"phone": CUSTOMER, "name": "Rita"})
            assert added.status_code == 201
            yield Gateway(url, name, token, app_url, control, found[0]["id"], company_id)
    finally:
        server.stop()
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.wait_for(task, 10)


async def _stored_key_ids(db: Database, gateway: Gateway) -> set[str]:
    found = await rows(
        db, "select key_id from evolution_messages where instance_id = :i", i=gateway.instance_id
    )
    return {row["key_id"] for row in found}


async def _until_stored(db: Database, gateway: Gateway, key_ids: set[str]) -> None:
    for _ in range(150):
        if key_ids <= await _stored_key_ids(db, gateway):
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"missing: {key_ids - await _stored_key_ids(db, gateway)}")


async def _stored_hash(db: Database, gateway: Gateway) -> dict[str, Any]:
    found = await rows(
        db,
        "select api_key_hash, api_key_ciphertext from evolution_instances where id = :i",
        i=gateway.instance_id,
    )
    return found[0]


async def _audit(db: Database, gateway: Gateway) -> list[dict[str, Any]]:
    return await rows(
        db,
        "select actor_id, details from audit_log where action = :a and target_id = :t",
        a=ROTATED_ACTION,
        t=str(gateway.instance_id),
    )


def _sha(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _metric(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def _envelope(gateway: Gateway, key_id: str, apikey: str) -> dict[str, Any]:
    body = text_message(key_id, remote_jid=f"{CUSTOMER}@s.whatsapp.net")
    body["instance"] = gateway.name
    body["apikey"] = apikey
    return body


async def test_rotation_loses_no_event_refuses_the_old_key_and_accepts_the_new(
    settings: Settings, db: Database, factory: Factory, runtime: Runtime
) -> None:
    """The envelope carries the token (AUTHENTICATION_EXPOSE_IN_FETCH_INSTANCES): right after
    the gateway's token changes, a burst of deliveries with the new key triggers one sync and
    every one of them is stored."""
    # Long enough that the checks right after the burst surely fall inside it, even on a
    # loaded machine; the test then waits it out to see the next sync refuse the old key.
    window = 8
    app_settings = _app_settings(settings, evolution_webhook_sync_interval_seconds=window)
    with _serving(app_settings) as app_url:
        async with (
            _gateway(app_url, db, factory, runtime) as gateway,
            httpx.AsyncClient(base_url=app_url) as app,
        ):
            # This webhook authenticates by the envelope apikey alone (no custom header).
            hook = await gateway.control.post(
                f"/webhook/set/{gateway.name}",
                json={"webhook": {"enabled": True, "url": app_url + "/webhooks/evolution"}},
            )
            assert hook.status_code == 201
            before = {await gateway.customer_says("antes da troca")}
            await _until_stored(db, gateway, before)
            rotations = _metric("zapcrm_instance_credential_rotations_total", trigger="webhook")

            new_token = f"tok-new-{uuid.uuid4().hex}"
            await gateway.rotate(new_token)
            burst = await asyncio.gather(*(gateway.customer_says(f"durante {n}") for n in range(8)))
            await _until_stored(db, gateway, before | set(burst))
            synced_by = time.monotonic()  # the burst's sync claimed the interval before this
            # Within the interval the gateway is not asked again: unverified, retry later.
            early = await post(app, _envelope(gateway, "ROT-OLD", gateway.token))
            assert early.status_code == 503
            assert early.json()["error"]["code"] == "key_unverified"

            assert set(await gateway.delivery_statuses()) == {200}  # not one delivery refused
            assert await gateway.fetch_calls() == 1  # the burst shared one sync
            stored = await _stored_hash(db, gateway)
            assert stored["api_key_hash"] == _sha(new_token)
            box = CredentialBox.from_settings(settings)
            assert box.open(stored["api_key_ciphertext"]) == new_token
            (audit,) = await _audit(db, gateway)
            assert audit["actor_id"] is None
            assert audit["details"] == {
                "trigger": "webhook", "instance": gateway.name, "server_url": gateway.url,
            }  # fmt: skip
            assert new_token not in str(audit)
            assert gateway.token not in str(audit)
            assert (
                _metric("zapcrm_instance_credential_rotations_total", trigger="webhook")
                == rotations + 1
            )
            new = await post(app, _envelope(gateway, "ROT-NEW", new_token))
            assert new.status_code == 200, new.text

            await asyncio.sleep(max(0.0, synced_by + window + 0.3 - time.monotonic()))
            old = await post(app, _envelope(gateway, "ROT-OLD", gateway.token))
            assert old.status_code == 401  # asked again: the old key is no longer valid
            assert await gateway.fetch_calls() == 2
            assert "ROT-OLD" not in await _stored_key_ids(db, gateway)
            assert "ROT-NEW" in await _stored_key_ids(db, gateway)
            assert len(await _audit(db, gateway)) == 1


async def test_admin_sync_moves_the_webhook_header_and_deliveries_never_stop(
    settings: Settings, db: Database, factory: Factory, runtime: Runtime
) -> None:
    """Header-authenticated webhook (envelope apikey null): the gateway keeps posting the old
    header until the admin's sync stores the new token and moves the header to it."""
    with _serving(_app_settings(settings)) as app_url:
        async with (
            _gateway(app_url, db, factory, runtime) as gateway,
            httpx.AsyncClient(base_url=app_url) as app,
        ):
            faults = await gateway.control.put("/_sim/faults", json={"expose_apikey": False})
            assert faults.status_code == 200
            admin = await factory.user(gateway.company_id, Role.ADMIN)
            for role in (Role.OPERATOR, Role.SUPERVISOR):
                headers = await login(app, await factory.user(gateway.company_id, role))
                refused = await app.post("/api/admin/instances/credentials/sync", headers=headers)
                assert refused.status_code == 403
            new_token = f"tok-new-{uuid.uuid4().hex}"
            await gateway.rotate(new_token)
            before = {await gateway.customer_says("com o cabeçalho antigo")}
            await _until_stored(db, gateway, before)
            assert await gateway.webhook_header() == gateway.token
            rotations = _metric("zapcrm_instance_credential_rotations_total", trigger="admin")

            headers = await login(app, admin)
            synced = await app.post("/api/admin/instances/credentials/sync", headers=headers)
            assert synced.status_code == 200, synced.text
            body = synced.json()
            assert body["rotated"] == [str(gateway.instance_id)]
            assert body["checked"] == 1
            assert body["failed_servers"] == []
            assert "Evolution API" in body["notice"]

            assert await gateway.webhook_header() == new_token
            assert (await _stored_hash(db, gateway))["api_key_hash"] == _sha(new_token)
            (audit,) = await _audit(db, gateway)
            assert audit["actor_id"] == admin.id
            assert audit["details"]["trigger"] == "admin"
            assert (
                _metric("zapcrm_instance_credential_rotations_total", trigger="admin")
                == rotations + 1
            )
            after = {await gateway.customer_says("com o cabeçalho novo")}
            await _until_stored(db, gateway, before | after)
            assert set(await gateway.delivery_statuses()) == {200}
            # REST calls now use the new sealed credential (the old one is refused by the gateway).
            state = await app.get(
                f"/api/admin/instances/{gateway.instance_id}/state", headers=headers
            )
            assert state.json() == {"state": "open"}
            old = await post(app, _envelope(gateway, "ROT-OLD2", gateway.token))
            assert old.status_code == 401  # a webhook-triggered sync confirmed it
            assert "ROT-OLD2" not in await _stored_key_ids(db, gateway)
            again = await app.post("/api/admin/instances/credentials/sync", headers=headers)
            assert again.json()["rotated"] == []
            assert len(await _audit(db, gateway)) == 1


async def test_a_flood_of_bad_keys_asks_the_gateway_once_per_window(
    settings: Settings, db: Database, factory: Factory, runtime: Runtime
) -> None:
    window = 8  # room for two floods inside one interval on a loaded machine
    app_settings = _app_settings(settings, evolution_webhook_sync_interval_seconds=window)
    with _serving(app_settings) as app_url:
        async with (
            _gateway(app_url, db, factory, runtime) as gateway,
            httpx.AsyncClient(base_url=app_url, timeout=30) as app,
        ):

            async def flood(prefix: str) -> list[int]:
                answers = await asyncio.gather(
                    *(
                        post(app, _envelope(gateway, f"{prefix}{n}", f"guess-{n}"))
                        for n in range(40)
                    )
                )
                return [answer.status_code for answer in answers]

            limited = _metric("zapcrm_instance_credential_syncs_total", trigger="webhook",
                              outcome="rate_limited")  # fmt: skip
            first = await flood("BAD-A")
            claimed_by = time.monotonic()  # the first flood's sync claimed the interval
            # The delivery that synced (and those that waited for it) are verified wrong: 401;
            # the rest could not be checked within the interval: 503, for Evolution to retry.
            assert set(first) <= {401, 503}
            assert 401 in first
            assert await gateway.fetch_calls() == 1
            assert set(await flood("BAD-B")) == {503}
            assert await gateway.fetch_calls() == 1  # same window
            assert (
                _metric("zapcrm_instance_credential_syncs_total", trigger="webhook",
                        outcome="rate_limited")
                >= limited + 40
            )  # fmt: skip
            await asyncio.sleep(max(0.0, claimed_by + window + 0.3 - time.monotonic()))
            assert 401 in await flood("BAD-C")
            assert await gateway.fetch_calls() == 2  # one more for the next window
            assert await _audit(db, gateway) == []
            assert (await _stored_hash(db, gateway))["api_key_hash"] == _sha(gateway.token)
            assert not any(key.startswith("BAD-") for key in await _stored_key_ids(db, gateway))


async def test_without_a_global_key_a_bad_key_is_refused_and_the_gateway_never_asked(
    client: httpx.AsyncClient,
    live_server: str,
    settings: Settings,
    db: Database,
    factory: Factory,
    runtime: Runtime,
) -> None:
    assert settings.evolution_global_key is None
    async with _gateway(live_server, db, factory, runtime) as gateway:
        new_token = f"tok-new-{uuid.uuid4().hex}"
        await gateway.rotate(new_token)
        refused = await post(client, _envelope(gateway, "NOKEY-1", new_token))
        assert refused.status_code == 401
        assert refused.json()["error"]["code"] == "unauthorized"
        admin = await login(client, await factory.user(gateway.company_id, Role.ADMIN))
        action = await client.post("/api/admin/instances/credentials/sync", headers=admin)
        assert action.status_code == 422
        assert "EVOLUTION_GLOBAL_KEY" in action.json()["error"]["message"]
        report = await CredentialSync(runtime, CredentialBox.from_settings(settings)).sync(
            trigger="schedule"
        )
        assert (report.checked, report.rotated) == (0, [])
        assert await gateway.fetch_calls() == 0
        assert (await _stored_hash(db, gateway))["api_key_hash"] == _sha(gateway.token)


async def test_concurrent_syncs_store_and_audit_a_rotation_once(
    live_server: str, settings: Settings, db: Database, factory: Factory, runtime: Runtime
) -> None:
    keyed = Runtime.build(_app_settings(settings))
    try:
        async with _gateway(live_server, db, factory, runtime) as gateway:
            new_token = f"tok-new-{uuid.uuid4().hex}"
            await gateway.rotate(new_token)
            sync = CredentialSync(keyed, CredentialBox.from_settings(settings))
            reports = await asyncio.gather(
                *(sync.sync_server(gateway.url, trigger="schedule") for _ in range(4))
            )
            assert sum(len(report.rotated) for report in reports) == 1
            assert len(await _audit(db, gateway)) == 1
            assert (await _stored_hash(db, gateway))["api_key_hash"] == _sha(new_token)
    finally:
        await keyed.close()


async def test_an_unreachable_gateway_fails_the_sync_without_touching_credentials(
    settings: Settings, db: Database, factory: Factory, runtime: Runtime
) -> None:
    keyed = Runtime.build(_app_settings(settings))
    company_id = await factory.company()
    sync = CredentialSync(keyed, CredentialBox.from_settings(settings))
    try:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            dead_url = f"http://127.0.0.1:{sock.getsockname()[1]}"  # nobody listens there
        async with db.service_session() as session:
            await register_instance(
                session, company_id=company_id, name="ninguem", token="tok-dead-123",
                credentials=CredentialBox.from_settings(settings), server_url=dead_url,
            )  # fmt: skip
        report = await sync.sync(trigger="admin", company_id=company_id)
        assert report.failed_servers == [dead_url]
        assert report.rotated == []
    finally:
        await keyed.close()


async def test_a_server_that_hangs_does_not_hold_up_the_others(
    live_server: str, settings: Settings, db: Database, factory: Factory, runtime: Runtime
) -> None:
    """Servers are asked side by side: a rotation on a healthy one lands while another
    server of the same company has not answered at all (it would wait out the timeout)."""
    keyed = Runtime.build(_app_settings(settings))
    sync: asyncio.Task[Any] | None = None
    try:
        # Servers are taken in name order: the silent one (0.0.0.0, this host on Linux) comes
        # before the simulator (127.0.0.1).
        async with (
            silent_server(url_host=ANY_HOST) as hanging_url,
            _gateway(live_server, db, factory, runtime) as gateway,
        ):
            async with db.service_session() as session:
                await register_instance(
                    session, company_id=gateway.company_id, name="calada", token="tok-hang-1",
                    credentials=CredentialBox.from_settings(settings), server_url=hanging_url,
                )  # fmt: skip
            new_token = f"tok-new-{uuid.uuid4().hex}"
            await gateway.rotate(new_token)
            syncer = CredentialSync(keyed, CredentialBox.from_settings(settings))
            sync = asyncio.create_task(syncer.sync(trigger="admin", company_id=gateway.company_id))
            for _ in range(50):
                if (await _stored_hash(db, gateway))["api_key_hash"] == _sha(new_token):
                    break
                await asyncio.sleep(0.1)
            assert (await _stored_hash(db, gateway))["api_key_hash"] == _sha(new_token)
            assert not sync.done()  # the silent server is still being waited for
    finally:
        if sync is not None:
            sync.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await sync
        await keyed.close()


def test_gateway_tokens_reads_2x_rows_and_1x_nested_ones() -> None:
    rows_2x: list[dict[str, Any]] = [
        {"name": "a", "token": "T-A"}, {"name": "b", "token": None}, {"token": "x"},
    ]  # fmt: skip
    rows_1x: list[dict[str, Any]] = [{"instance": {"instanceName": "c", "apikey": "T-C"}}]
    assert gateway_tokens(rows_2x + rows_1x) == {"a": "T-A", "c": "T-C"}


@pytest.fixture
def worker_env(settings: Settings, private_redis: RedisProcess) -> dict[str, str]:
    return {
        **os.environ,
        "DATABASE_URL": settings.database_url,
        "REDIS_URL": private_redis.url,
        "SECRET_KEY": settings.secret_key.get_secret_value(),
        "EVOLUTION_GLOBAL_KEY": SIMULATOR_KEY,
        "EVOLUTION_CREDENTIALS_SYNC_SECONDS": "1",
        "WORKER_METRICS_PORT": "0",
        "LOG_LEVEL": "warning",
    }


async def test_the_worker_syncs_credentials_on_its_schedule(
    worker_env: dict[str, str],
    live_server: str,
    settings: Settings,
    db: Database,
    factory: Factory,
    runtime: Runtime,
) -> None:
    """Each server on its own clock: a server that never answers (a 10 s timeout) does not
    stretch a healthy server's interval of one second (0.0.0.0 sorts before 127.0.0.1)."""
    async with (
        silent_server(url_host=ANY_HOST) as hanging_url,
        _gateway(live_server, db, factory, runtime) as gateway,
    ):
        async with db.service_session() as session:
            await register_instance(
                session, company_id=gateway.company_id, name="calada", token="tok-hang-2",
                credentials=CredentialBox.from_settings(settings), server_url=hanging_url,
            )  # fmt: skip
        new_token = f"tok-new-{uuid.uuid4().hex}"
        await gateway.rotate(new_token)
        zapcrm = str(Path(sys.executable).with_name("zapcrm"))
        worker = await asyncio.create_subprocess_exec(zapcrm, "worker", env=worker_env)
        try:
            for _ in range(150):
                if (await _stored_hash(db, gateway))["api_key_hash"] == _sha(new_token):
                    break
                await asyncio.sleep(0.1)
            assert (await _stored_hash(db, gateway))["api_key_hash"] == _sha(new_token)
            (audit,) = await _audit(db, gateway)
            assert audit["details"]["trigger"] == "schedule"
            assert await gateway.webhook_header() == new_token
            # Asked again about a second later, while the silent server is still awaited.
            calls = await gateway.fetch_calls()
            for _ in range(50):
                if await gateway.fetch_calls() > calls:
                    break
                await asyncio.sleep(0.1)
            assert await gateway.fetch_calls() > calls
            assert len(await _audit(db, gateway)) == 1
        finally:
            worker.send_signal(signal.SIGTERM)
            assert await asyncio.wait_for(worker.wait(), 30) == 0
