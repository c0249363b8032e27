"""Instance, webhook and settings routes answer with 2.3.x bodies and codes (§3.1, §3.8, §3.9)."""

from __future__ import annotations

import httpx

from tests.evolution.simulator.conftest import Receiver, admin, open_instance
from zapcrm.evolution.simulator import ALLOWED_EVENTS, Simulator

CREATE = {"instanceName": "acme-sales", "integration": "WHATSAPP-BAILEYS"}


async def test_create_returns_the_token_as_hash_and_a_first_qr(api: httpx.AsyncClient) -> None:
    body = CREATE | {"qrcode": True, "number": "5511900000000", "token": "my-own-token"}
    response = await api.post("/instance/create", json=body, headers=admin())
    assert response.status_code == 201
    created = response.json()
    assert created["hash"] == "my-own-token"
    assert set(created) == {
        "instance",
        "hash",
        "webhook",
        "websocket",
        "rabbitmq",
        "nats",
        "sqs",
        "settings",
        "qrcode",
    }
    assert created["instance"]["status"] == "connecting"
    assert created["instance"]["integration"] == "WHATSAPP-BAILEYS"
    assert created["websocket"] == {}
    assert created["sqs"] == {}
    qr = created["qrcode"]
    assert qr["code"].startswith("2@")
    assert qr["count"] == 1
    assert qr["base64"].startswith("data:image/png;base64,")
    assert len(qr["pairingCode"]) == 8


async def test_create_without_qrcode_stays_closed_and_generates_an_uppercase_token(
    api: httpx.AsyncClient,
) -> None:
    created = (await api.post("/instance/create", json=CREATE, headers=admin())).json()
    assert created["instance"]["status"] == "close"
    assert "qrcode" not in created
    token = created["hash"]
    assert token == token.upper()
    assert len(token) == 36


async def test_create_errors_follow_the_guard_order(api: httpx.AsyncClient) -> None:
    missing = await api.post("/instance/create", json={"instanceName": "x"}, headers=admin())
    assert missing.status_code == 400
    assert missing.json() == {
        "status": 400,
        "error": "Bad Request",
        "response": {"message": ["Invalid integration"]},
    }
    unnamed = await api.post("/instance/create", json={"integration": "EVOLUTION"}, headers=admin())
    assert unnamed.json()["response"]["message"] == [['instance requires property "instanceName"']]
    await api.post("/instance/create", json=CREATE, headers=admin())
    # The name guard runs before the key check: a wrong key still gets 403 (§3.1).
    taken = await api.post("/instance/create", json=CREATE, headers={"apikey": "wrong"})
    assert taken.status_code == 403
    assert taken.json()["response"]["message"] == ['This name "acme-sales" is already in use.']
    other = CREATE | {"instanceName": "other"}
    assert (
        await api.post("/instance/create", json=other, headers={"apikey": "wrong"})
    ).status_code == 401


async def test_auth_is_404_for_unknown_instances_and_401_for_wrong_keys(
    api: httpx.AsyncClient,
) -> None:
    token = await open_instance(api, None)
    unknown = await api.get("/instance/connectionState/nope", headers={"apikey": "wrong"})
    assert unknown.status_code == 404
    assert unknown.json() == {
        "status": 404,
        "error": "Not Found",
        "response": {"message": ['The "nope" instance does not exist']},
    }
    for headers in ({}, {"apikey": "wrong"}):
        denied = await api.get("/instance/connectionState/acme-sales", headers=headers)
        assert denied.status_code == 401
        assert denied.json() == {
            "status": 401,
            "error": "Unauthorized",
            "response": {"message": "Unauthorized"},
        }
    for key in (token, admin()["apikey"]):
        state = await api.get("/instance/connectionState/acme-sales", headers={"apikey": key})
        assert state.json() == {"instance": {"instanceName": "acme-sales", "state": "open"}}


async def test_unknown_routes_and_wrong_methods_are_express_404s(api: httpx.AsyncClient) -> None:
    await open_instance(api, None)
    wrong_method = await api.post("/instance/connect/acme-sales", headers=admin())
    assert wrong_method.status_code == 404
    assert wrong_method.json()["response"]["message"] == [
        "Cannot POST /instance/connect/acme-sales"
    ]
    assert (await api.get("/docs")).json()["response"]["message"] == ["Cannot GET /docs"]


async def test_fetch_instances_always_includes_the_token(api: httpx.AsyncClient) -> None:
    token_a = await open_instance(api, None, name="a")
    await open_instance(api, None, name="b")
    everything = (await api.get("/instance/fetchInstances", headers=admin())).json()
    assert [row["name"] for row in everything] == ["a", "b"]
    row = everything[0]
    assert row["token"] == token_a
    assert row["connectionStatus"] == "open"
    assert row["ownerJid"].endswith("@s.whatsapp.net")
    assert {"Setting", "_count", "disconnectionReasonCode", "clientName"} <= set(row)
    own = (await api.get("/instance/fetchInstances", headers={"apikey": token_a})).json()
    assert [r["name"] for r in own] == ["a"]
    filtered = await api.get("/instance/fetchInstances?instanceName=b", headers=admin())
    assert [r["name"] for r in filtered.json()] == ["b"]
    assert (await api.get("/instance/fetchInstances", headers={"apikey": "x"})).status_code == 401


async def test_connect_gives_a_qr_until_open_then_the_state(
    api: httpx.AsyncClient, sim: Simulator
) -> None:
    await api.post("/instance/create", json=CREATE, headers=admin())
    first = (await api.get("/instance/connect/acme-sales", headers=admin())).json()
    assert set(first) == {"pairingCode", "code", "base64", "count"}
    assert first["pairingCode"] is None
    second = (
        await api.get("/instance/connect/acme-sales?number=5511900000000", headers=admin())
    ).json()
    assert second["count"] == 2
    assert len(second["pairingCode"]) == 8
    sim.pair(sim.instances["acme-sales"])
    opened = (await api.get("/instance/connect/acme-sales", headers=admin())).json()
    assert opened == {"instance": {"instanceName": "acme-sales", "state": "open"}}


async def test_restart_logout_and_delete(api: httpx.AsyncClient, sim: Simulator) -> None:
    await api.post("/instance/create", json=CREATE, headers=admin())
    failed = await api.post("/instance/restart/acme-sales", headers=admin())
    assert failed.status_code == 200
    assert failed.json()["error"] is True
    sim.pair(sim.instances["acme-sales"])
    restarted = await api.post("/instance/restart/acme-sales", headers=admin())
    assert restarted.status_code == 200
    assert restarted.json()["instance"]["state"] == "connecting"
    await sim.drain()
    assert sim.instances["acme-sales"].state == "open"
    logged_out = await api.delete("/instance/logout/acme-sales", headers=admin())
    assert logged_out.json() == {
        "status": "SUCCESS",
        "error": False,
        "response": {"message": "Instance logged out"},
    }
    again = await api.delete("/instance/logout/acme-sales", headers=admin())
    assert again.status_code == 400
    assert again.json()["response"]["message"] == ['The "acme-sales" instance is not connected']
    deleted = await api.delete("/instance/delete/acme-sales", headers=admin())
    assert deleted.json()["response"]["message"] == "Instance deleted"
    assert (
        await api.get("/instance/connectionState/acme-sales", headers=admin())
    ).status_code == 404


async def test_webhook_set_and_find(api: httpx.AsyncClient, receiver: Receiver) -> None:
    token = await open_instance(api, None)
    headers = {"apikey": token}
    assert (await api.get("/webhook/find/acme-sales", headers=headers)).json() is None
    body = {
        "webhook": {
            "enabled": True,
            "url": receiver.new_hook(),
            "byEvents": True,
            "base64": True,
            "headers": {"apikey": token},
            "events": [],
        }
    }
    stored = await api.post("/webhook/set/acme-sales", json=body, headers=headers)
    assert stored.status_code == 201
    row = stored.json()
    assert set(row) == {
        "id",
        "url",
        "headers",
        "enabled",
        "events",
        "webhookByEvents",
        "webhookBase64",
        "createdAt",
        "updatedAt",
        "instanceId",
    }
    assert row["events"] == list(ALLOWED_EVENTS)  # enabled with [] stores every event
    assert row["webhookByEvents"] is True
    assert row["headers"] == {"apikey": token}
    assert (await api.get("/webhook/find/acme-sales", headers=headers)).json() == row
    disabled = body | {"webhook": body["webhook"] | {"enabled": False, "events": ["SEND_MESSAGE"]}}
    assert (await api.post("/webhook/set/acme-sales", json=disabled, headers=headers)).json()[
        "events"
    ] == []


async def test_webhook_set_validates_the_nested_body(api: httpx.AsyncClient) -> None:
    await open_instance(api, None)
    flat = await api.post(
        "/webhook/set/acme-sales", json={"enabled": True, "url": "http://x"}, headers=admin()
    )
    assert flat.status_code == 400
    assert flat.json()["response"]["message"] == [['instance requires property "webhook"']]
    bad = {"webhook": {"enabled": True, "url": "http://x", "events": ["MESSAGES_UPSERT", "NOPE"]}}
    invalid = await api.post("/webhook/set/acme-sales", json=bad, headers=admin())
    assert invalid.status_code == 400
    [[message]] = invalid.json()["response"]["message"]
    assert message.startswith("webhook.events[1] is not one of enum values: APPLICATION_STARTUP,")
    no_url = await api.post(
        "/webhook/set/acme-sales", json={"webhook": {"enabled": True}}, headers=admin()
    )
    assert no_url.json()["response"]["message"] == [['webhook requires property "url"']]


async def test_settings_set_returns_the_setting_row(api: httpx.AsyncClient) -> None:
    await open_instance(api, None)
    settings = {
        "rejectCall": True,
        "msgCall": "Não atendemos ligações",
        "groupsIgnore": True,
        "alwaysOnline": False,
        "readMessages": False,
        "readStatus": False,
        "syncFullHistory": False,
    }
    response = await api.post("/settings/set/acme-sales", json=settings, headers=admin())
    assert response.status_code == 201
    assert response.json()["rejectCall"] is True
    assert response.json()["msgCall"] == "Não atendemos ligações"
