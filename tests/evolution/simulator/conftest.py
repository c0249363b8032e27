"""Fixtures: a real local webhook receiver, and a simulator reached through its REST app.

No database: the simulator is self-contained, and the receiver is a small uvicorn app on
127.0.0.1 that records every POST and answers with scripted status codes.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import orjson
import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from zapcrm.evolution.simulator import Simulator, SimulatorConfig, create_simulator_app
from zapcrm.evolution.simulator.runner import ReadyServer

GLOBAL_KEY = "global-test-key"
TIME_SCALE = 0.0005  # 5 simulated seconds take 2.5 ms


@dataclass
class Captured:
    """One webhook POST as the receiver saw it."""

    path: str
    headers: dict[str, str]
    body: Any

    @property
    def event(self) -> str:
        return str(self.body["event"])


@dataclass
class Receiver:
    """Records POSTs by path; `script[path]` lists answers: a status code, or seconds to stall."""

    base_url: str = ""
    captured: list[Captured] = field(default_factory=list)
    script: dict[str, list[int | float]] = field(default_factory=dict)

    def new_hook(self) -> str:
        return f"{self.base_url}/hook/{uuid.uuid4().hex}"

    def received(self, url: str) -> list[Captured]:
        """Everything posted to the URL or below it (byEvents suffixes)."""
        prefix = url.removeprefix(self.base_url)
        return [c for c in self.captured if c.path == prefix or c.path.startswith(prefix + "/")]

    async def handle(self, request: Request) -> Response:
        body = orjson.loads(await request.body())
        self.captured.append(Captured(request.url.path, dict(request.headers), body))
        answers = self.script.get(request.url.path)
        answer: int | float = answers.pop(0) if answers else 200
        if isinstance(answer, float):
            await asyncio.sleep(answer)
            answer = 200
        return Response(b"ok", status_code=answer)


@pytest.fixture(scope="session")
async def receiver() -> AsyncIterator[Receiver]:
    """A real HTTP webhook receiver on 127.0.0.1 (shared; each test uses its own hook path)."""
    recorder = Receiver()
    app = Starlette(routes=[Route("/{path:path}", recorder.handle, methods=["POST"])])
    server = ReadyServer(
        uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="off")
    )
    task = asyncio.get_running_loop().create_task(server.serve())
    await asyncio.wait_for(server.ready.wait(), 10)
    port = server.servers[0].sockets[0].getsockname()[1]
    recorder.base_url = f"http://127.0.0.1:{port}"
    yield recorder
    server.should_exit = True
    await task


def make_config(**overrides: Any) -> SimulatorConfig:
    """Test-mode settings: fixed seed, scaled time, pairing only when asked."""
    values: dict[str, Any] = {
        "global_key": GLOBAL_KEY,
        "server_url": "http://evolution.test:8080",
        "mode": "test",
        "seed": 7,
        "time_scale": TIME_SCALE,
        "auto_pair": False,
    }
    return SimulatorConfig(**(values | overrides))


@pytest.fixture
async def sim() -> AsyncIterator[Simulator]:
    """A fresh test-mode simulator."""
    simulator = Simulator(make_config())
    yield simulator
    await simulator.aclose()


@pytest.fixture
async def api(sim: Simulator) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client for the simulator's REST and control API (in process, over ASGI)."""
    transport = httpx.ASGITransport(app=create_simulator_app(sim))
    async with httpx.AsyncClient(transport=transport, base_url="http://evolution.test") as client:
        yield client


@pytest.fixture
def hook(receiver: Receiver) -> str:
    """A webhook URL of the receiver that only this test uses."""
    return receiver.new_hook()


def admin() -> dict[str, str]:
    """Headers carrying the global key."""
    return {"apikey": GLOBAL_KEY}


async def open_instance(
    api: httpx.AsyncClient,
    hook: str | None,
    *,
    name: str = "acme-sales",
    events: list[str] | None = None,
    **webhook: Any,
) -> str:
    """Create an instance through REST, point its webhook at `hook`, pair it; returns its token."""
    body: dict[str, Any] = {"instanceName": name, "integration": "WHATSAPP-BAILEYS"}
    if hook is not None:
        body["webhook"] = {"url": hook, "events": events or [], **webhook}
    created = await api.post("/instance/create", json=body, headers=admin())
    assert created.status_code == 201, created.text
    paired = await api.post(
        f"/_sim/instances/{name}/connection", json={"action": "pair"}, headers=admin()
    )
    assert paired.status_code == 200, paired.text
    return str(created.json()["hash"])


async def settle(sim: Simulator) -> None:
    """Wait for acks and deliveries to finish."""
    await sim.drain()


def asgi_client(sim: Simulator) -> httpx.AsyncClient:
    """A client for another simulator than the `sim` fixture's (use with `async with`)."""
    transport = httpx.ASGITransport(app=create_simulator_app(sim))
    return httpx.AsyncClient(transport=transport, base_url="http://evolution.test")


def events_of(captured: list[Captured], event: str) -> list[Captured]:
    """The captured deliveries of one event."""
    return [c for c in captured if c.event == event]
