"""The `/_sim` control API drives the simulator and documents itself; global key only."""

from __future__ import annotations

import httpx
import pytest

from tests.evolution.simulator.conftest import (
    Receiver,
    admin,
    events_of,
    make_config,
    open_instance,
    settle,
)
from zapcrm.evolution.simulator import CONTROL_ROUTES, SCENARIOS, Simulator

MARIA = {"phone": "5511987654321", "name": "Maria"}


@pytest.fixture
async def token(api: httpx.AsyncClient, hook: str) -> str:
    await api.post("/_sim/customers", json=MARIA, headers=admin())
    return await open_instance(api, hook)


async def test_control_needs_the_global_key(api: httpx.AsyncClient, token: str) -> None:
    for headers in ({}, {"apikey": token}):
        denied = await api.get("/_sim/customers", headers=headers)
        assert denied.status_code == 401
        assert denied.json()["response"]["message"] == "Unauthorized"


async def test_index_lists_every_route(api: httpx.AsyncClient) -> None:
    routes = (await api.get("/_sim", headers=admin())).json()["routes"]
    assert len(routes) == len(CONTROL_ROUTES)
    assert {
        "method": "POST",
        "path": "/_sim/reset",
        "description": "forget everything; body {seed?}",
    } in routes


async def test_customers(api: httpx.AsyncClient, token: str) -> None:
    added = await api.post(
        "/_sim/customers",
        json={"phone": "5531991234567", "name": "João", "legacy_without_ninth": True},
        headers=admin(),
    )
    assert added.status_code == 201
    assert added.json()["lid"].isdigit()
    listed = (await api.get("/_sim/customers", headers=admin())).json()
    assert [c["name"] for c in listed] == ["Maria", "João"]
    bad = await api.post(
        "/_sim/customers", json={"phone": "1", "name": "x", "color": "red"}, headers=admin()
    )
    assert bad.status_code == 400
    assert "color" in bad.json()["response"]["message"][0]


async def test_a_customer_keeps_their_lid_when_the_simulator_restarts() -> None:
    # WhatsApp keeps a person's lid; the demo restarts the simulator with a new seed each time.
    first, second = Simulator(make_config(seed=1)), Simulator(make_config(seed=2))
    try:
        lids = [sim.directory.add("5521987650003", "Carlos").lid for sim in (first, second)]
        other = first.directory.add("5521987650004", "Clara").lid
    finally:
        await first.aclose()
        await second.aclose()
    assert lids[0] == lids[1]
    assert other != lids[0]
    assert len(lids[0]) == 15


async def test_inbound_sent_and_reads(api: httpx.AsyncClient, sim: Simulator, token: str) -> None:
    said = await api.post(
        "/_sim/instances/acme-sales/inbound",
        json={"from": "5511987654321", "type": "text", "text": "Oi!"},
        headers=admin(),
    )
    assert said.status_code == 201
    assert said.json()["event"] == "messages.upsert"
    key = said.json()["data"]["key"]
    unknown = await api.post(
        "/_sim/instances/acme-sales/inbound", json={"from": "5599", "text": "x"}, headers=admin()
    )
    assert unknown.status_code == 400
    await api.post(
        "/message/sendText/acme-sales",
        json={"number": "5511987654321", "text": "Olá"},
        headers={"apikey": token},
    )
    await api.post(
        "/chat/markMessageAsRead/acme-sales",
        json={"readMessages": [{k: key[k] for k in ("remoteJid", "fromMe", "id")}]},
        headers={"apikey": token},
    )
    await api.post("/_sim/drain", headers=admin())
    [sent] = (await api.get("/_sim/instances/acme-sales/sent", headers=admin())).json()
    assert sent["request"] == {"number": "5511987654321", "text": "Olá"}
    assert sent["response"]["status"] == "PENDING"
    assert sent["remote_jid"] == "5511987654321@s.whatsapp.net"
    assert sent["statuses"] == ["SERVER_ACK", "DELIVERY_ACK", "READ"]
    [read] = (await api.get("/_sim/instances/acme-sales/reads", headers=admin())).json()
    assert read["key"]["id"] == key["id"]
    assert read["forwarded"] is True
    assert (await api.get("/_sim/instances/nope/sent", headers=admin())).status_code == 404


async def test_faults_global_and_per_instance(
    api: httpx.AsyncClient, sim: Simulator, token: str
) -> None:
    changed = await api.put(
        "/_sim/faults", json={"duplicate_deliveries": 2, "retry": "none"}, headers=admin()
    )
    assert changed.json()["duplicate_deliveries"] == 2
    assert changed.json()["retry"]["max_attempts"] == 1
    own = await api.put(
        "/_sim/faults?instance=acme-sales", json={"addressing": "lid"}, headers=admin()
    )
    assert own.json()["addressing"] == "lid"
    assert own.json()["duplicate_deliveries"] == 2
    assert (await api.get("/_sim/faults", headers=admin())).json()["addressing"] is None
    for bad in (
        {"nope": 1},
        {"addressing": "x"},
        {"rest_error_rate": 2},
        {"shuffle_statuses": "yes"},
    ):
        assert (await api.put("/_sim/faults", json=bad, headers=admin())).status_code == 400, bad
    await api.delete("/_sim/faults?instance=acme-sales", headers=admin())
    assert sim.instances["acme-sales"].faults is None


async def test_events_deliveries_and_clock(
    api: httpx.AsyncClient, sim: Simulator, token: str
) -> None:
    before = sim.clock.now()
    advanced = await api.post("/_sim/clock/advance", json={"seconds": 90}, headers=admin())
    assert advanced.json()["now"] == before + 90
    said = await api.post(
        "/_sim/instances/acme-sales/inbound",
        json={"from": "5511987654321", "text": "oi"},
        headers=admin(),
    )
    assert said.json()["data"]["messageTimestamp"] == int(before + 90)
    await sim.drain()
    upserts = (await api.get("/_sim/events?event=messages.upsert", headers=admin())).json()
    assert len(upserts) == 1
    assert upserts[0]["body"]["event"] == "messages.upsert"
    deliveries = (await api.get("/_sim/deliveries", headers=admin())).json()
    assert deliveries
    assert all(d["status"] == 200 for d in deliveries)


async def test_scenarios_run_by_name_and_inline(
    api: httpx.AsyncClient, sim: Simulator, token: str
) -> None:
    names = (await api.get("/_sim/scenarios", headers=admin())).json()
    assert set(names) == set(SCENARIOS)
    ran = await api.post(
        "/_sim/scenarios/run", json={"instance": "acme-sales", "name": "padaria"}, headers=admin()
    )
    assert ran.status_code == 200
    events = [r.get("event") for r in ran.json()["results"]]
    assert events.count("messages.upsert") == 5
    assert "presence.update" in events
    steps = [
        {"say": {"from": "5511987654321", "text": "primeira", "label": "p"}},
        {"say": {"from": "5511987654321", "type": "edit", "target_id": "@p", "text": "editada"}},
    ]
    inline = await api.post(
        "/_sim/scenarios/run", json={"instance": "acme-sales", "steps": steps}, headers=admin()
    )
    first, edit = inline.json()["results"]
    assert edit == {"event": "messages.edited", "key_id": first["key_id"]}
    broken = await api.post(
        "/_sim/scenarios/run",
        json={"instance": "acme-sales", "steps": [{"fly": 1}]},
        headers=admin(),
    )
    assert broken.status_code == 400
    assert broken.json()["response"]["message"] == ["step 0: unknown step 'fly'"]


async def test_reset(api: httpx.AsyncClient, sim: Simulator, token: str) -> None:
    reset = await api.post("/_sim/reset", json={"seed": 99}, headers=admin())
    assert reset.json() == {"reset": True, "seed": 99}
    assert sim.instances == {}
    assert sim.customers == {}
    assert sim.emitter.emitted == []
    assert (await api.get("/instance/fetchInstances", headers=admin())).json() == []


async def test_token_rotation_moves_rest_and_envelope_but_not_webhook_headers(
    api: httpx.AsyncClient, sim: Simulator, hook: str, receiver: Receiver
) -> None:
    old = await open_instance(api, hook, events=["MESSAGES_UPSERT"], headers={"apikey": "h-old"})
    rotated = await api.post(
        "/_sim/instances/acme-sales/token", json={"token": "new-token-1"}, headers=admin()
    )
    assert rotated.json() == {"instanceName": "acme-sales", "token": "new-token-1"}
    state = "/instance/connectionState/acme-sales"
    assert (await api.get(state, headers={"apikey": old})).status_code == 401
    assert (await api.get(state, headers={"apikey": "new-token-1"})).status_code == 200
    rows = (await api.get("/instance/fetchInstances", headers=admin())).json()
    assert [row["token"] for row in rows] == ["new-token-1"]
    await api.post("/_sim/customers", json=MARIA, headers=admin())
    said = await api.post(
        "/_sim/instances/acme-sales/inbound",
        json={"from": MARIA["phone"], "text": "Oi"},
        headers=admin(),
    )
    assert said.status_code == 201, said.text
    await settle(sim)
    delivered = events_of(receiver.received(hook), "messages.upsert")
    assert [(c.body["apikey"], c.headers["apikey"]) for c in delivered] == [
        ("new-token-1", "h-old")
    ]
    generated = await api.post("/_sim/instances/acme-sales/token", json={}, headers=admin())
    assert generated.json()["token"] not in (old, "new-token-1")
    empty = await api.post("/_sim/instances/acme-sales/token", json={"token": ""}, headers=admin())
    assert empty.status_code == 400


async def test_requests_log_counts_rest_calls_but_not_control(
    api: httpx.AsyncClient, token: str
) -> None:
    await api.get("/instance/fetchInstances", headers=admin())
    await api.get("/instance/fetchInstances", headers={"apikey": "wrong"})
    logged = (await api.get("/_sim/requests?path=/instance/fetch", headers=admin())).json()
    assert [(r["method"], r["path"], r["status"]) for r in logged] == [
        ("GET", "/instance/fetchInstances", 200),
        ("GET", "/instance/fetchInstances", 401),
    ]
    everything = (await api.get("/_sim/requests", headers=admin())).json()
    assert [r["path"] for r in everything][:1] == ["/instance/create"]
    assert not any(r["path"].startswith("/_sim") for r in everything)
