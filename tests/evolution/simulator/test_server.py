"""The simulator served for real by uvicorn, in test mode and in demo mode."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

import httpx
import pytest

from tests.evolution.simulator.conftest import GLOBAL_KEY, Captured, Receiver, events_of
from zapcrm.evolution.simulator import PERSONAS, SimulatorServer, run_simulator_cli
from zapcrm.evolution.simulator.demo import GRADES
from zapcrm.surveys.schemas import DEFAULT_QUESTION


@asynccontextmanager
async def running(server: SimulatorServer) -> AsyncIterator[httpx.AsyncClient]:
    task = asyncio.get_running_loop().create_task(server.serve())
    try:
        await asyncio.wait_for(server.wait_ready(), 10)
        base_url = f"http://127.0.0.1:{server.port}"
        async with httpx.AsyncClient(base_url=base_url, trust_env=False) as client:
            yield client
    finally:
        server.stop()
        await task


async def wait_for(check: Callable[[], bool], within: float = 5.0) -> None:
    deadline = asyncio.get_running_loop().time() + within
    while not check():
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.02)


def upserts_from(captured: list[Captured], name: str) -> list[Captured]:
    return [c for c in events_of(captured, "messages.upsert") if c.body["data"]["pushName"] == name]


async def test_test_mode_over_real_http(receiver: Receiver, hook: str) -> None:
    server = SimulatorServer(
        "127.0.0.1",
        0,
        global_key=GLOBAL_KEY,
        webhook_url=hook,
        instance="zapcrm",
        token="zapcrm-token",
        mode="test",
        time_scale=0.0005,
        log_level="warning",
    )
    async with running(server) as client:
        state = await client.get(
            "/instance/connectionState/zapcrm", headers={"apikey": "zapcrm-token"}
        )
        assert state.json() == {"instance": {"instanceName": "zapcrm", "state": "open"}}
        await client.post(
            "/_sim/customers",
            json={"phone": "5511987654321", "name": "Maria"},
            headers={"apikey": GLOBAL_KEY},
        )
        sent = await client.post(
            "/message/sendText/zapcrm",
            json={"number": "5511987654321", "text": "Olá"},
            headers={"apikey": "zapcrm-token"},
        )
        assert sent.status_code == 201
        await client.post("/_sim/drain", headers={"apikey": GLOBAL_KEY})
        received = receiver.received(hook)
        assert [c.event for c in received[:4]] == [
            "instance.create",
            "connection.update",
            "qrcode.updated",
            "connection.update",
        ]
        assert all(c.headers["apikey"] == "zapcrm-token" for c in received)
        assert events_of(received, "send.message")[0].body["data"] == sent.json()


async def test_demo_customers_chat_and_answer(receiver: Receiver, hook: str) -> None:
    server = SimulatorServer(
        "127.0.0.1",
        0,
        global_key=GLOBAL_KEY,
        webhook_url=hook,
        instance="zapcrm",
        token="zapcrm-token",
        mode="demo",
        seed=3,
        time_scale=0.002,
        log_level="warning",
    )
    async with running(server) as client:
        await wait_for(lambda: len(events_of(receiver.received(hook), "messages.upsert")) >= 3)
        maria = PERSONAS[0].customer
        before = len(upserts_from(receiver.received(hook), maria["name"]))
        sent = await client.post(
            "/message/sendText/zapcrm",
            json={"number": maria["phone"], "text": "Temos sim!"},
            headers={"apikey": "zapcrm-token"},
        )
        assert sent.status_code == 201
        await wait_for(lambda: len(upserts_from(receiver.received(hook), maria["name"])) > before)
        names = {
            c.body["data"]["pushName"]
            for c in events_of(receiver.received(hook), "messages.upsert")
        }
        assert names <= {p.customer["name"] for p in PERSONAS}
        # A numbered menu (the departments' one) is answered with one of its numbers.
        before = len(upserts_from(receiver.received(hook), maria["name"]))
        menu = await client.post(
            "/message/sendText/zapcrm",
            json={"number": maria["phone"], "text": "Escolha:\n\n*1* - Vendas\n*2* - Suporte"},
            headers={"apikey": "zapcrm-token"},
        )
        assert menu.status_code == 201

        def texts() -> list[object]:
            later = upserts_from(receiver.received(hook), maria["name"])[before:]
            return [c.body["data"]["message"].get("conversation") for c in later]

        await wait_for(lambda: bool({"1", "2"} & set(texts())))
        # The satisfaction survey's question is answered with a grade.
        before = len(upserts_from(receiver.received(hook), maria["name"]))
        survey = await client.post(
            "/message/sendText/zapcrm",
            json={"number": maria["phone"], "text": DEFAULT_QUESTION},
            headers={"apikey": "zapcrm-token"},
        )
        assert survey.status_code == 201
        await wait_for(lambda: bool(set(GRADES) & set(texts())))


def test_cli_entry_point_rejects_unknown_modes() -> None:
    with pytest.raises(ValueError, match="mode"):
        run_simulator_cli("127.0.0.1", 0, GLOBAL_KEY, None, "zapcrm", "token", "production")
