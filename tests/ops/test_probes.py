"""Health, readiness, metrics, request ids and the error shape, in process and as a real server."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.conftest import Factory
from zapcrm.config import Settings
from zapcrm.db import Database
from zapcrm.models import Role
from zapcrm.runtime import Runtime


async def test_healthz_and_readyz(client: httpx.AsyncClient) -> None:
    assert (await client.get("/healthz")).json() == {"status": "ok"}
    ready = await client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json() == {"status": "ok", "checks": {"postgres": "ok", "redis": "ok"}}


async def test_readyz_names_the_dependency_that_is_down(settings: Settings) -> None:
    from zapcrm.app import create_app

    broken = settings.model_copy(update={"redis_url": "redis://127.0.0.1:1/0"})
    app = create_app(broken)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
            response = await http.get("/readyz")
    assert response.status_code == 503
    assert response.json()["checks"] == {"postgres": "ok", "redis": "unavailable"}


async def test_request_id_is_echoed_or_generated(client: httpx.AsyncClient) -> None:
    given = await client.get("/healthz", headers={"X-Request-ID": "abc-123-def-456"})
    assert given.headers["x-request-id"] == "abc-123-def-456"
    hostile = await client.get("/healthz", headers={"X-Request-ID": "<script>"})
    assert hostile.headers["x-request-id"] != "<script>"
    assert len(hostile.headers["x-request-id"]) == 32


async def test_errors_have_one_shape(client: httpx.AsyncClient) -> None:
    missing = await client.get("/api/nothing-here")
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "not_found"
    wrong_method = await client.delete("/api/me")
    assert wrong_method.status_code == 405
    assert wrong_method.json()["error"]["code"] == "method_not_allowed"


async def test_oversized_bodies_are_refused(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/api/auth/login",
        content=b"{" + b" " * 1_100_000 + b"}",
        headers={"content-type": "application/json"},
    )
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "payload_too_large"


async def test_metrics_count_requests_by_route(client: httpx.AsyncClient) -> None:
    await client.get("/api/me")
    text = (await client.get("/metrics")).text
    assert 'zapcrm_http_requests_total{method="GET",route="/api/me",status="401"}' in text
    # Queue gauges are refreshed at scrape time.
    assert 'zapcrm_queue_length{stream="evolution:incoming-messages"}' in text


async def test_openapi_lists_the_api(client: httpx.AsyncClient) -> None:
    paths = (await client.get("/openapi.json")).json()["paths"]
    assert {"/api/auth/login", "/api/auth/refresh", "/api/me", "/api/admin/users"} <= set(paths)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.slow
def test_zapcrm_web_serves_and_logs_json_with_request_ids(settings: Settings) -> None:
    port = _free_port()
    env = {
        **os.environ,
        "DATABASE_URL": settings.database_url,
        "REDIS_URL": settings.redis_url,
        "LOG_FORMAT": "json",
        "LOG_LEVEL": "info",
    }
    zapcrm = Path(sys.executable).with_name("zapcrm")
    process = subprocess.Popen(
        [str(zapcrm), "web", "--port", str(port)],
        env=env,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                ready = httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=1)
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline, "zapcrm web did not start"
                time.sleep(0.2)
        assert ready.status_code == 200
        me = httpx.get(f"http://127.0.0.1:{port}/api/me", headers={"X-Request-ID": "req-000042"})
        assert me.status_code == 401
    finally:
        process.terminate()
        _, stderr = process.communicate(timeout=15)
    lines = [json.loads(line) for line in stderr.splitlines() if line.startswith("{")]
    access = [line for line in lines if line.get("event") == "http.request"]
    assert any(
        line["request_id"] == "req-000042" and line["status"] == 401 and line["route"] == "/api/me"
        for line in access
    ), stderr[-2000:]


def test_invalid_configuration_fails_with_one_line_naming_the_variable() -> None:
    zapcrm = Path(sys.executable).with_name("zapcrm")
    env = {**os.environ, "DATABASE_URL": "mysql://nope", "SECRET_KEY": "x" * 40}
    result = subprocess.run(
        [str(zapcrm), "migrate"], env=env, capture_output=True, text=True, timeout=30
    )
    assert result.returncode == 2
    assert "DATABASE_URL must be a postgresql:// URL" in result.stderr
    assert "Traceback" not in result.stderr
    short_secret = subprocess.run(
        [str(zapcrm), "migrate"],
        env={**os.environ, "SECRET_KEY": "short"},
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert short_secret.returncode == 2
    assert "SECRET_KEY" in short_secret.stderr


async def test_runtime_builds_without_connecting(settings: Settings) -> None:
    # Building must not need the network: connections open lazily on first use.
    unreachable = settings.model_copy(update={"database_url": "postgresql://x@127.0.0.1:1/x"})
    runtime = Runtime.build(unreachable)
    await runtime.close()


async def test_queue_report_and_alerts_for_supervisors(
    client: httpx.AsyncClient, factory: Factory, db: Database
) -> None:
    from tests.conftest import login
    from tests.evolution.harness import new_instance

    instance = await new_instance(db, factory)  # registered, never connected
    supervisor = await login(client, await factory.user(instance.company_id, Role.SUPERVISOR))
    operator = await login(client, await factory.user(instance.company_id, Role.OPERATOR))
    assert (await client.get("/api/admin/queues", headers=operator)).status_code == 403
    report = (await client.get("/api/admin/queues", headers=supervisor)).json()
    assert {item["stream"] for item in report["streams"]} == {
        "evolution:incoming-messages",
        "evolution:outgoing-messages",
        "evolution:media-sync",
        "contacts:import",
    }
    alerts = (await client.get("/api/admin/alerts", headers=supervisor)).json()
    disconnected = [a for a in alerts if a["alert"] == "instance_disconnected"]
    assert [a["subject"] for a in disconnected] == [instance.name]
