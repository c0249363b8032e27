"""Helpers for tests against the live app: login headers, an SSE reader and a registered
simulator instance."""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from typing import Any

import httpx

from tests.conftest import Factory, UserFixture
from zapcrm.db import Database
from zapcrm.evolution.credentials import CredentialBox
from zapcrm.evolution.instances import register_instance
from zapcrm.runtime import Runtime


async def token_headers(http: httpx.AsyncClient, user: UserFixture) -> dict[str, str]:
    response = await http.post(
        "/api/auth/login", json={"email": user.email, "password": user.password}
    )
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


async def register_simulated_instance(
    simulator: tuple[str, str, str], db: Database, factory: Factory, runtime: Runtime
) -> uuid.UUID:
    """A new company owning the simulator's instance; returns the company id."""
    sim_url, name, token = simulator
    company_id = await factory.company()
    async with db.service_session() as session:
        await register_instance(
            session,
            company_id=company_id,
            name=name,
            token=token,
            credentials=CredentialBox.from_settings(runtime.settings),
            server_url=sim_url,
        )
    return company_id


class SseReader:
    """Collects the events of one SSE connection in the background."""

    def __init__(self, http: httpx.AsyncClient, headers: dict[str, str]) -> None:
        self.events: list[dict[str, Any]] = []
        self.ready = asyncio.Event()
        self.ended = asyncio.Event()  # the server closed the stream
        self._task = asyncio.create_task(self._read(http, headers))

    async def _read(self, http: httpx.AsyncClient, headers: dict[str, str]) -> None:
        with contextlib.suppress(httpx.HTTPError):
            await self._consume(http, headers)
            self.ended.set()

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
