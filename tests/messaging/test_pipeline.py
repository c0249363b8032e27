"""Webhook -> Postgres -> outbox -> worker -> Redis caches -> API and live SSE, for real.

The app runs on a real socket (uvicorn) and the worker runs its real runtime, so the SSE
stream is read by an HTTP client exactly as a browser would.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from tests.conftest import Factory, UserFixture
from tests.evolution.harness import Instance, new_instance, text_message
from tests.servers import ServerThread
from zapcrm.app import create_app
from zapcrm.config import Settings
from zapcrm.db import Database
from zapcrm.messaging import cache
from zapcrm.models import Role
from zapcrm.runtime import Runtime
from zapcrm.worker.main import build_worker


@pytest.fixture(scope="module")
def server(settings: Settings) -> Iterator[str]:
    thread = ServerThread(create_app(settings), lifespan="on")
    base_url = thread.start()
    try:
        yield base_url
    finally:
        thread.stop()


@pytest.fixture(scope="module")
async def worker(runtime: Runtime) -> AsyncIterator[None]:
    stop = asyncio.Event()
    task = asyncio.create_task(build_worker(runtime).run(stop))
    try:
        yield
    finally:
        stop.set()
        await asyncio.wait_for(task, timeout=30)


async def _token(http: httpx.AsyncClient, user: UserFixture) -> dict[str, str]:
    response = await http.post(
        "/api/auth/login", json={"email": user.email, "password": user.password}
    )
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


class SseReader:
    """Collects the events of one SSE connection in the background."""

    def __init__(self, http: httpx.AsyncClient, headers: dict[str, str]) -> None:
        self.events: list[dict[str, Any]] = []
        self.ready = asyncio.Event()
        self._task = asyncio.create_task(self._read(http, headers))

    async def _read(self, http: httpx.AsyncClient, headers: dict[str, str]) -> None:
        with contextlib.suppress(httpx.HTTPError):
            await self._consume(http, headers)

    async def _consume(self, http: httpx.AsyncClient, headers: dict[str, str]) -> None:
        async with http.stream("GET", "/api/events", headers=headers, timeout=None) as response:
            assert response.status_code == 200
            event_type = None
            async for line in response.aiter_lines():
                if line.startswith("event:"):
                    event_type = line.removeprefix("event:").strip()
                elif line.startswith("data:"):
                    data = json.loads(line.removeprefix("data:").strip())
                    if event_type == "ready":
                        self.ready.set()
                    else:
                        self.events.append(data)

    async def wait_for(self, predicate: Any) -> dict[str, Any]:
        deadline = asyncio.get_running_loop().time() + 10
        while asyncio.get_running_loop().time() < deadline:
            for event in self.events:
                if predicate(event):
                    return event
            await asyncio.sleep(0.05)
        raise AssertionError(f"no matching event in {self.events!r}")

    async def close(self) -> None:
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError, httpx.HTTPError):
            await self._task


async def _post(http: httpx.AsyncClient, instance: Instance, body: dict[str, Any]) -> None:
    response = await http.post("/webhooks/evolution", json=instance.envelope(body))
    assert response.status_code == 200, response.text


async def test_message_flows_to_cache_api_and_live_events(
    server: str, worker: None, db: Database, factory: Factory, runtime: Runtime
) -> None:
    instance = await new_instance(db, factory)
    operator = await factory.user(instance.company_id, Role.OPERATOR)
    other = await factory.user(instance.company_id, Role.OPERATOR)
    async with httpx.AsyncClient(base_url=server, timeout=10) as http:
        reader = SseReader(http, await _token(http, operator))
        other_reader = SseReader(http, await _token(http, other))
        await asyncio.wait_for(asyncio.gather(reader.ready.wait(), other_reader.ready.wait()), 10)

        await _post(http, instance, text_message("E2E-1", text_body="Olá, vocês abrem sábado?"))
        event = await reader.wait_for(lambda e: e["type"] == "message.created")
        message = event["data"]["message"]
        assert message["body"] == "Olá, vocês abrem sábado?"
        conversation_id = message["conversation_id"]

        # The worker wrote the snapshots.
        assert await runtime.redis.exists(cache.message_key(message["id"]))
        assert await runtime.redis.exists(cache.conversation_key(conversation_id))

        headers = await _token(http, operator)
        listed = await http.get(
            "/api/conversations", params={"assignee": "unassigned"}, headers=headers
        )
        assert [item["id"] for item in listed.json()["items"]] == [conversation_id]
        first = await http.get(f"/api/conversations/{conversation_id}/messages", headers=headers)
        assert [m["body"] for m in first.json()["items"]] == ["Olá, vocês abrem sábado?"]

        # Now warm: a change made behind the cache's back is not seen until the worker says so.
        async with db.service_session() as session:
            await session.execute(
                text("update evolution_messages set body = 'alterado' where id = :id"),
                {"id": message["id"]},
            )
        cached = await http.get(f"/api/conversations/{conversation_id}/messages", headers=headers)
        assert [m["body"] for m in cached.json()["items"]] == ["Olá, vocês abrem sábado?"]

        # Assign it to the other operator: events and reads follow the assignment.
        async with db.service_session() as session:
            await session.execute(
                text("update evolution_conversations set assignee_id = :a where id = :id"),
                {"a": other.id, "id": conversation_id},
            )
        await _post(http, instance, text_message("E2E-2", text_body="Alô?", timestamp=1763326999))
        await other_reader.wait_for(
            lambda e: e["type"] == "message.created" and e["data"]["message"]["body"] == "Alô?"
        )
        await asyncio.sleep(0.3)
        assert not [e for e in reader.events if e["data"].get("message", {}).get("body") == "Alô?"]
        hidden = await http.get(f"/api/conversations/{conversation_id}/messages", headers=headers)
        assert hidden.status_code == 404
        await reader.close()
        await other_reader.close()


async def test_status_updates_refresh_the_cached_message(
    server: str, worker: None, db: Database, factory: Factory, runtime: Runtime
) -> None:
    instance = await new_instance(db, factory)
    supervisor = await factory.user(instance.company_id, Role.SUPERVISOR)
    async with httpx.AsyncClient(base_url=server, timeout=10) as http:
        reader = SseReader(http, await _token(http, supervisor))
        await asyncio.wait_for(reader.ready.wait(), 10)
        sent = text_message("E2E-OUT", from_me=True, event="send.message", status="PENDING")
        await _post(http, instance, sent)
        created = await reader.wait_for(lambda e: e["type"] == "message.created")
        message_id = created["data"]["message"]["id"]
        from tests.evolution.harness import status_update

        await _post(http, instance, status_update("E2E-OUT", "READ"))
        await reader.wait_for(
            lambda e: e["type"] == "message.status" and e["data"]["message"]["status"] == "READ"
        )
        raw = await runtime.redis.get(cache.message_key(message_id))
        assert raw is not None
        snapshot = json.loads(raw)
        assert snapshot["status"] == "READ"
        await reader.close()
