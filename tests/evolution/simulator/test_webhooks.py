"""Webhook deliveries: the exact 2.x envelope, URLs, headers, filters, acks, 2.3.x retries (§1)."""

from __future__ import annotations

import time
from typing import Any

import httpx
import jwt
import pytest

from tests.evolution.simulator.conftest import (
    TIME_SCALE,
    Receiver,
    admin,
    asgi_client,
    events_of,
    make_config,
    open_instance,
)
from zapcrm.evolution.simulator import GlobalWebhook, Simulator
from zapcrm.evolution.simulator.clock import iso_utc

JWT_SECRET = "a-webhook-signing-secret-of-32-bytes"
ENVELOPE_KEYS = [
    "event",
    "instance",
    "data",
    "destination",
    "date_time",
    "sender",
    "server_url",
    "apikey",
]


async def send_text(
    api: httpx.AsyncClient, token: str, number: str = "5511987654321", text: str = "Olá"
) -> dict[str, Any]:
    response = await api.post(
        "/message/sendText/acme-sales",
        json={"number": number, "text": text},
        headers={"apikey": token},
    )
    assert response.status_code == 201, response.text
    sent: dict[str, Any] = response.json()
    return sent


async def test_envelope_has_exactly_the_2x_keys(
    api, sim: Simulator, receiver: Receiver, hook: str
) -> None:
    sim.add_customer("5511987654321", "Maria")
    token = await open_instance(api, hook, events=["SEND_MESSAGE"])
    sent = await send_text(api, token)
    await sim.drain()
    [delivery] = receiver.received(hook)
    body = delivery.body
    assert list(body) == ENVELOPE_KEYS
    assert body["event"] == "send.message"
    assert body["instance"] == "acme-sales"
    assert body["data"] == sent  # send.message data is the REST response (§2.2)
    assert body["destination"] == hook
    assert body["date_time"] == iso_utc(sim.clock.now())
    assert body["date_time"].endswith("Z")
    assert body["sender"] == sim.instances["acme-sales"].wuid
    assert body["server_url"] == "http://evolution.test:8080"
    assert body["apikey"] == token  # the instance token when exposed (§1.7)
    headers = delivery.headers
    assert headers["content-type"] == "application/json"
    assert headers["user-agent"].startswith("axios/1.")
    assert headers["accept"] == "application/json, text/plain, */*"


async def test_date_time_is_local_time_mislabelled_utc(receiver: Receiver, hook: str) -> None:
    sim = Simulator(make_config(tz_offset_minutes=-180))  # TZ=America/Sao_Paulo
    try:
        async with asgi_client(sim) as api:
            sim.add_customer("5511987654321", "Maria")
            await open_instance(api, hook, events=["MESSAGES_UPSERT"])
            await sim.customer_sends(
                sim.instances["acme-sales"], "5511987654321", "text", text="oi"
            )
            await sim.drain()
        [delivery] = receiver.received(hook)
        assert delivery.body["date_time"] == iso_utc(
            delivery.body["data"]["messageTimestamp"] - 3 * 3600
        )
    finally:
        await sim.aclose()


async def test_by_events_suffix_headers_and_jwt_key(
    api, sim: Simulator, receiver: Receiver, hook: str
) -> None:
    sim.add_customer("5511987654321", "Maria")
    token = await open_instance(
        api,
        hook,
        events=["SEND_MESSAGE", "MESSAGES_UPDATE"],
        byEvents=True,
        headers={"apikey": "instance-token-copy", "jwt_key": JWT_SECRET, "x-tenant": "7"},
    )
    await send_text(api, token)
    await sim.drain()
    deliveries = receiver.received(hook)
    paths = {d.path.rsplit("/", 1)[1] for d in deliveries}
    assert paths == {"send-message", "messages-update"}
    for delivery in deliveries:
        assert delivery.body["destination"] == hook  # never the suffixed URL (§1.3)
        assert delivery.headers["apikey"] == "instance-token-copy"
        assert delivery.headers["x-tenant"] == "7"
        assert "jwt_key" not in delivery.headers
        scheme, _, token_value = delivery.headers["authorization"].partition(" ")
        claims = jwt.decode(token_value, JWT_SECRET, algorithms=["HS256"])
        assert scheme == "Bearer"
        assert claims["app"] == "evolution"
        assert claims["action"] == "webhook"
        assert claims["exp"] - claims["iat"] == 600


async def test_only_subscribed_events_are_delivered(
    api, sim: Simulator, receiver: Receiver, hook: str
) -> None:
    sim.add_customer("5511987654321", "Maria")
    await open_instance(api, hook, events=["MESSAGES_UPSERT"])
    instance = sim.instances["acme-sales"]
    await sim.customer_sends(instance, "5511987654321", "text", text="oi")
    await sim.customer_sends(instance, "5511987654321", "presence")
    await sim.drain()
    assert [d.event for d in receiver.received(hook)] == ["messages.upsert"]


async def test_sender_is_absent_before_the_first_connection(
    api, sim: Simulator, receiver: Receiver, hook: str
) -> None:
    body = {
        "instanceName": "acme-sales",
        "integration": "WHATSAPP-BAILEYS",
        "qrcode": True,
        "webhook": {"url": hook, "events": ["QRCODE_UPDATED", "CONNECTION_UPDATE"]},
    }
    assert (await api.post("/instance/create", json=body, headers=admin())).status_code == 201
    sim.pair(sim.instances["acme-sales"])
    await sim.drain()
    deliveries = receiver.received(hook)
    assert [d.event for d in deliveries] == [
        "connection.update",
        "qrcode.updated",
        "connection.update",
    ]
    connecting, qrcode, opened = (d.body for d in deliveries)
    assert "sender" not in connecting
    assert "sender" not in qrcode
    assert connecting["data"] == {
        "instance": "acme-sales",
        "state": "connecting",
        "statusReason": 200,
    }
    assert set(qrcode["data"]["qrcode"]) == {"instance", "pairingCode", "code", "base64"}
    assert opened["sender"] == opened["data"]["wuid"]
    assert opened["data"]["state"] == "open"
    assert opened["data"]["statusReason"] == 200


async def test_send_is_followed_by_ordered_acks(
    api, sim: Simulator, receiver: Receiver, hook: str
) -> None:
    sim.add_customer("5511987654321", "Maria")
    token = await open_instance(api, hook, events=["SEND_MESSAGE", "MESSAGES_UPDATE"])
    sent = await send_text(api, token)
    await sim.drain()
    emitted = [(e.event, e.body["data"].get("status")) for e in sim.emitter.emitted]
    assert emitted == [
        ("send.message", "PENDING"),
        ("messages.update", "SERVER_ACK"),
        ("messages.update", "DELIVERY_ACK"),
        ("messages.update", "READ"),
    ]
    updates = events_of(receiver.received(hook), "messages.update")
    assert len(updates) == 3
    for update in updates:
        data = update.body["data"]
        assert list(data) == ["keyId", "remoteJid", "fromMe", "status", "instanceId", "messageId"]
        assert data["keyId"] == sent["key"]["id"]
        assert data["fromMe"] is True
        assert data["messageId"].startswith("c")
        assert data["messageId"] != data["keyId"]
    assert sim.instances["acme-sales"].sent[0].statuses == ["SERVER_ACK", "DELIVERY_ACK", "READ"]


async def test_voice_notes_are_played_even_without_read_receipts(
    api, sim: Simulator, hook: str
) -> None:
    import base64

    from zapcrm.evolution.simulator import media

    sim.add_customer("5511987654321", "Maria", read_receipts=False)
    token = await open_instance(api, hook, events=["MESSAGES_UPDATE"])
    audio = base64.b64encode(media.ogg_opus(2)).decode()
    await api.post(
        "/message/sendWhatsAppAudio/acme-sales",
        json={"number": "5511987654321", "audio": audio},
        headers={"apikey": token},
    )
    await send_text(api, token)
    await sim.drain()
    voice, text = sim.instances["acme-sales"].sent
    assert voice.statuses == ["SERVER_ACK", "DELIVERY_ACK", "PLAYED"]
    assert text.statuses == ["SERVER_ACK", "DELIVERY_ACK"]


def expected_window(failures: int) -> tuple[float, float]:
    base = min(5.0 * 2 ** (failures - 1), 300.0)
    return max(5.0, base * 0.8), base * 1.2


async def test_retries_on_500_follow_the_2_3_schedule(
    api, sim: Simulator, receiver: Receiver, hook: str
) -> None:
    receiver.script[hook.removeprefix(receiver.base_url)] = [500] * 10
    started = time.perf_counter()
    await open_instance(api, hook, events=["INSTANCE_CREATE"])
    await sim.drain()
    elapsed = time.perf_counter() - started
    attempts = sim.emitter.attempts
    assert [a.attempt for a in attempts] == list(range(1, 11))
    assert all(a.status == 500 for a in attempts)
    for attempt in attempts[:-1]:
        low, high = expected_window(attempt.attempt)
        assert attempt.next_delay is not None
        assert low <= attempt.next_delay <= high
    assert attempts[-1].next_delay is None  # dropped after the 10th try
    # ~20 simulated minutes of waiting, really spent at the test's time scale.
    waited = sum(a.next_delay or 0.0 for a in attempts)
    assert sum(expected_window(n)[0] for n in range(1, 10)) <= waited
    assert elapsed >= waited * TIME_SCALE
    assert len(receiver.received(hook)) == 10


@pytest.mark.parametrize("status", [400, 401, 403, 404, 422])
async def test_no_retry_on_non_retryable_codes(
    api, sim: Simulator, receiver: Receiver, hook: str, status: int
) -> None:
    receiver.script[hook.removeprefix(receiver.base_url)] = [status]
    await open_instance(api, hook, events=["INSTANCE_CREATE"])
    await sim.drain()
    assert [(a.attempt, a.status, a.next_delay) for a in sim.emitter.attempts] == [
        (1, status, None)
    ]


async def test_timeouts_and_5xx_are_retried_until_success(
    api, sim: Simulator, receiver: Receiver, hook: str
) -> None:
    receiver.script[hook.removeprefix(receiver.base_url)] = [0.3, 503]
    sim.faults = sim.faults.updated({"retry": {"timeout": 0.1}})
    await open_instance(api, hook, events=["INSTANCE_CREATE"])
    await sim.drain()
    outcomes = [(a.attempt, a.status, a.error) for a in sim.emitter.attempts]
    assert outcomes == [(1, None, "ECONNABORTED"), (2, 503, None), (3, 200, None)]


async def test_global_webhook_gets_no_custom_headers(receiver: Receiver) -> None:
    instance_hook, global_hook = receiver.new_hook(), receiver.new_hook()
    sim = Simulator(make_config(global_webhook=GlobalWebhook(global_hook, by_events=True)))
    try:
        async with asgi_client(sim) as api:
            await open_instance(
                api,
                instance_hook,
                events=["CONNECTION_UPDATE", "STATUS_INSTANCE"],
                headers={"apikey": "secret"},
            )
            sim.logout(sim.instances["acme-sales"])
            await sim.drain()
        globals_ = receiver.received(global_hook)
        # Everything but status.instance, which has no global env key (§1.2).
        assert {d.event for d in globals_} == {
            "instance.create",
            "connection.update",
            "qrcode.updated",
        }
        assert all("apikey" not in d.headers for d in globals_)
        assert {d.path.rsplit("/", 1)[1] for d in globals_} == {
            "instance-create",
            "connection-update",
            "qrcode-updated",
        }
        # The body names the instance webhook URL as destination when there is one (§1.3).
        assert all(d.body["destination"] == instance_hook for d in globals_)
        assert "status.instance" in {d.event for d in receiver.received(instance_hook)}
    finally:
        await sim.aclose()


async def test_non_http_urls_are_silently_skipped(api, sim: Simulator) -> None:
    await open_instance(api, "ftp://example.com/hook", events=["CONNECTION_UPDATE"])
    await sim.drain()
    assert sim.emitter.emitted
    assert all(e.targets == [] for e in sim.emitter.emitted)
    assert sim.emitter.attempts == []
