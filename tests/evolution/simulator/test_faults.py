"""Every fault switch visibly changes what the simulator emits or answers (DESIGN.md §8)."""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest

from tests.evolution.simulator.conftest import Receiver, events_of, open_instance
from zapcrm.evolution.simulator import Faults, Simulator

MARIA = "5511987654321"


@pytest.fixture
async def token(api: httpx.AsyncClient, sim: Simulator, hook: str) -> str:
    sim.add_customer(MARIA, "Maria")
    sim.add_customer("5531991234567", "João")
    token = await open_instance(api, hook)
    await sim.drain()  # so each test sees only what it causes
    sim.emitter.clear()
    return token


def set_faults(sim: Simulator, **changes: object) -> None:
    sim.faults = sim.faults.updated(changes)


async def customer_text(sim: Simulator, text: str = "oi", phone: str = MARIA) -> dict[str, Any]:
    result = await sim.customer_sends(sim.instances["acme-sales"], phone, "text", text=text)
    return dict(result["data"])


async def send_text(api: httpx.AsyncClient, token: str, number: str = MARIA) -> httpx.Response:
    return await api.post(
        "/message/sendText/acme-sales",
        json={"number": number, "text": "Olá"},
        headers={"apikey": token},
    )


async def test_duplicate_deliveries(
    sim: Simulator, token: str, receiver: Receiver, hook: str
) -> None:
    set_faults(sim, duplicate_deliveries=3)
    data = await customer_text(sim)
    await sim.drain()
    copies = [c.body for c in events_of(receiver.received(hook), "messages.upsert")]
    assert len(copies) == 3
    assert all(c["data"] == data for c in copies)


async def test_shuffled_statuses(api: httpx.AsyncClient, sim: Simulator, token: str) -> None:
    set_faults(sim, shuffle_statuses=True)
    for _ in range(4):
        await send_text(api, token)
    await sim.drain()
    canonical = ["send.message", "SERVER_ACK", "DELIVERY_ACK", "READ"]
    sequences: dict[str, list[str]] = {}
    for emitted in sim.emitter.emitted:
        data = emitted.body["data"]
        if emitted.event == "send.message":
            sequences.setdefault(data["key"]["id"], []).append("send.message")
        elif emitted.event == "messages.update":
            sequences.setdefault(data["keyId"], []).append(data["status"])
    assert all(sorted(s) == sorted(canonical) for s in sequences.values())
    assert any(s != canonical for s in sequences.values())


@pytest.mark.parametrize(
    ("addressing", "remote_suffix", "alt_suffix", "mode"),
    [
        ("lid", "@lid", "@s.whatsapp.net", "lid"),
        ("lid_no_alt", "@lid", None, "lid"),
        ("pn_alt", "@s.whatsapp.net", "@lid", "pn"),
        ("pn", "@s.whatsapp.net", None, "pn"),
    ],
)
async def test_addressing_modes(
    sim: Simulator,
    token: str,
    addressing: str,
    remote_suffix: str,
    alt_suffix: str | None,
    mode: str,
) -> None:
    set_faults(sim, addressing=addressing)
    key = (await customer_text(sim))["key"]
    assert key["remoteJid"].endswith(remote_suffix)
    assert key["addressingMode"] == mode
    if alt_suffix is None:
        assert "remoteJidAlt" not in key
    else:
        assert key["remoteJidAlt"].endswith(alt_suffix)


async def test_lid_addressing_reaches_status_updates(
    api: httpx.AsyncClient, sim: Simulator, token: str
) -> None:
    set_faults(sim, addressing="lid")
    sent = (await send_text(api, token)).json()
    await sim.drain()
    updates = [e.body["data"] for e in sim.emitter.emitted if e.event == "messages.update"]
    assert sent["key"]["remoteJid"] == f"{MARIA}@s.whatsapp.net"
    assert all(u["remoteJid"].endswith("@lid") for u in updates)


async def test_ninth_digit_rewrite(api: httpx.AsyncClient, sim: Simulator, token: str) -> None:
    before = (await send_text(api, token, "5531991234567")).json()
    assert before["key"]["remoteJid"] == "5531991234567@s.whatsapp.net"
    set_faults(sim, ninth_digit_rewrite=True)
    after = (await send_text(api, token, "5531991234567")).json()
    assert after["key"]["remoteJid"] == "553191234567@s.whatsapp.net"
    assert (await customer_text(sim, phone="5531991234567"))["key"][
        "remoteJid"
    ] == "553191234567@s.whatsapp.net"
    # DDD 11 (< 31) keeps its 9 (§6.4).
    assert (await send_text(api, token)).json()["key"]["remoteJid"] == f"{MARIA}@s.whatsapp.net"


async def test_binary_objects_or_strings(sim: Simulator, token: str) -> None:
    instance = sim.instances["acme-sales"]
    image = (await sim.customer_sends(instance, MARIA, "image", caption="x"))["data"]["message"]
    assert set(image["imageMessage"]["fileLength"]) == {"low", "high", "unsigned"}
    assert image["imageMessage"]["mediaKey"]["0"] >= 0
    assert len(image["imageMessage"]["mediaKey"]) == 32
    set_faults(sim, binary_objects=False)  # ≤ 2.3.5 (§2.1)
    older = (await sim.customer_sends(instance, MARIA, "image", caption="x"))["data"]["message"]
    assert older["imageMessage"]["fileLength"].isdigit()
    assert isinstance(older["imageMessage"]["mediaKey"], str)
    assert older["imageMessage"]["mediaKey"].endswith("=")


async def test_long_timestamps(api: httpx.AsyncClient, sim: Simulator, token: str) -> None:
    assert isinstance((await customer_text(sim))["messageTimestamp"], int)
    set_faults(sim, long_timestamps=True)
    stamp = (await customer_text(sim))["messageTimestamp"]
    assert stamp == {"low": int(sim.clock.now()), "high": 0, "unsigned": True}
    assert set((await send_text(api, token)).json()["messageTimestamp"]) == {
        "low",
        "high",
        "unsigned",
    }


async def test_null_apikey(sim: Simulator, token: str, receiver: Receiver, hook: str) -> None:
    await customer_text(sim)
    set_faults(sim, expose_apikey=False)
    await customer_text(sim)
    await sim.drain()
    keys = [c.body["apikey"] for c in events_of(receiver.received(hook), "messages.upsert")]
    assert keys == [token, None]


async def test_v1_shapes(
    api: httpx.AsyncClient, sim: Simulator, token: str, receiver: Receiver, hook: str
) -> None:
    set_faults(sim, v1_shapes=True, expose_apikey=False)
    already = len(receiver.received(hook))
    instance = sim.instances["acme-sales"]
    upsert = (
        await sim.customer_sends(instance, MARIA, "extended_text", text="veja https://x.example")
    )["data"]
    assert upsert["owner"] == "acme-sales"
    assert "status" not in upsert
    assert "instanceId" not in upsert
    assert upsert["messageType"] == "extendedTextMessage"  # 1.x kept it (§7)
    assert upsert["key"] == {
        "remoteJid": f"{MARIA}@s.whatsapp.net",
        "fromMe": False,
        "id": upsert["key"]["id"],
    }
    await sim.customer_sends(instance, MARIA, "edit", target_id=upsert["key"]["id"], text="novo")
    await send_text(api, token)
    await sim.drain()
    received = receiver.received(hook)[already:]
    assert all("apikey" not in c.body for c in received)  # omitted, not null, in 1.x (§1.7)
    assert not events_of(received, "messages.edited")  # 1.x had no such event
    [sent] = events_of(received, "send.message")
    assert set(sent.body["data"]["messageTimestamp"]) == {"low", "high", "unsigned"}
    update = events_of(received, "messages.update")[0].body["data"]
    assert set(update) == {"remoteJid", "fromMe", "id", "status", "datetime", "owner"}


async def test_sends_echoed_as_upserts(api: httpx.AsyncClient, sim: Simulator, token: str) -> None:
    set_faults(sim, echo_sends_as_upsert=True)
    sent = (await send_text(api, token)).json()
    await sim.drain()
    [echo] = [e.body["data"] for e in sim.emitter.emitted if e.event == "messages.upsert"]
    assert echo["key"]["id"] == sent["key"]["id"]
    assert echo["key"]["fromMe"] is True


async def test_rest_5xx_injection(api: httpx.AsyncClient, sim: Simulator, token: str) -> None:
    set_faults(sim, rest_error_rate=1.0, rest_error_status=503)
    failed = await send_text(api, token)
    assert failed.status_code == 503
    assert isinstance(failed.json()["response"]["message"], str)  # unhandled: a plain string
    assert sim.instances["acme-sales"].sent == []
    set_faults(sim, rest_error_status=500, rest_error_after_send=True)
    ambiguous = await send_text(api, token)
    assert ambiguous.status_code == 500
    assert len(sim.instances["acme-sales"].sent) == 1  # it went out anyway: retry-safe?
    set_faults(sim, rest_error_rate=0.5, rest_error_after_send=False)
    codes = [(await send_text(api, token)).status_code for _ in range(20)]
    assert {201, 500} == set(codes)


async def test_send_latency(api: httpx.AsyncClient, sim: Simulator, token: str) -> None:
    set_faults(sim, send_latency=200.0)  # 200 simulated seconds = 0.1 s at the test time scale
    started = time.perf_counter()
    assert (await send_text(api, token)).status_code == 201
    assert time.perf_counter() - started >= 0.1


async def test_retry_presets(sim: Simulator, token: str, receiver: Receiver, hook: str) -> None:
    path = hook.removeprefix(receiver.base_url)
    set_faults(sim, retry="none")
    receiver.script[path] = [500]
    await customer_text(sim)
    await sim.drain()
    assert [(a.attempt, a.next_delay) for a in sim.emitter.attempts if a.status == 500] == [
        (1, None)
    ]
    sim.emitter.clear()
    set_faults(sim, retry="2.2")  # 2.2.1–2.2.3 retried 4xx every 30 s (#1325)
    receiver.script[path] = [400, 400]
    await customer_text(sim)
    await sim.drain()
    attempts = [(a.status, a.next_delay) for a in sim.emitter.attempts]
    assert attempts[:3] == [(400, 30.0), (400, 30.0), (200, None)]


async def test_faults_per_instance(api: httpx.AsyncClient, sim: Simulator, token: str) -> None:
    await open_instance(api, None, name="other")
    sim.instances["other"].faults = Faults(addressing="lid")
    other = await sim.customer_sends(sim.instances["other"], MARIA, "text", text="oi")
    assert other["data"]["key"]["remoteJid"].endswith("@lid")
    assert (await customer_text(sim))["key"]["remoteJid"].endswith("@s.whatsapp.net")
