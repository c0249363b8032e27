"""Sending through the queue to the simulated gateway: ticks, idempotency, refusals, RLS."""

from __future__ import annotations

import asyncio
import hashlib
import uuid
from typing import Any

import httpx
import pytest
from pydantic import SecretStr
from sqlalchemy import text

from tests.conftest import SIMULATOR_KEY, Factory, login
from tests.evolution.harness import rows
from tests.live import register_simulated_instance
from zapcrm.config import Settings
from zapcrm.db import Database
from zapcrm.models import Role
from zapcrm.runtime import Runtime

CUSTOMER = "5511976543210"


async def _connected_instance(
    simulator: tuple[str, str, str], db: Database, factory: Factory, runtime: Runtime
) -> tuple[uuid.UUID, str, str, httpx.AsyncClient]:
    sim_url, name, _token = simulator
    company_id = await register_simulated_instance(simulator, db, factory, runtime)
    sim = httpx.AsyncClient(base_url=sim_url, timeout=10, headers={"apikey": SIMULATOR_KEY})
    # Reconnect so the connection.update webhooks reach the now registered instance.
    for action in ("drop", "pair"):
        assert (
            await sim.post(f"/_sim/instances/{name}/connection", json={"action": action})
        ).status_code < 300
        # Deliveries run concurrently: let each change land before the next one starts.
        await sim.post("/_sim/drain")
    # `connecting` and `open` may carry the same date_time on the simulator's clock, so
    # concurrent deliveries can leave `connecting` last (more often on a busy machine): then
    # drop and pair once more (pairing an instance the simulator holds open does nothing).
    for _ in range(5):
        state = await rows(
            db,
            "select connection_state as s from evolution_instances where external_id = :n",
            n=name,
        )
        if state and state[0]["s"] == "open":
            break
        for action in ("drop", "pair"):
            await sim.post(f"/_sim/instances/{name}/connection", json={"action": action})
            await sim.post("/_sim/drain")
    await _until(
        db,
        "select connection_state as s from evolution_instances where external_id = :n",
        {"n": name},
        lambda r: r and r[0]["s"] == "open",
    )
    await sim.post("/_sim/customers", json={"phone": CUSTOMER, "name": "Rita"})
    return company_id, name, sim_url, sim


async def _until(
    db: Database, sql: str, params: dict[str, Any], done: Any, *, seconds: float = 15
) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    for _ in range(int(seconds * 10)):
        found = await rows(db, sql, **params)
        if done(found):
            return found
        await asyncio.sleep(0.1)
    raise AssertionError(f"never reached: {found}")


async def test_reply_goes_out_once_and_ticks_to_read(
    simulator: tuple[str, str, str],
    live_server: str,
    live_worker: None,
    db: Database,
    factory: Factory,
    runtime: Runtime,
) -> None:
    company_id, name, _, sim = await _connected_instance(simulator, db, factory, runtime)
    await sim.post(
        f"/_sim/instances/{name}/inbound",
        json={"from": CUSTOMER, "type": "text", "text": "Oi, tem bolo?"},
    )
    conversation = await _until(
        db, "select id from evolution_conversations where company_id = :c", {"c": company_id}, bool
    )
    conversation_id = conversation[0]["id"]
    operator = await factory.user(company_id, Role.OPERATOR)
    async with httpx.AsyncClient(base_url=live_server, timeout=10) as app:
        headers = {**await login(app, operator), "Idempotency-Key": "reply-1"}
        url = f"/api/conversations/{conversation_id}/messages"
        first = await app.post(url, json={"text": "Temos sim! 🎂"}, headers=headers)
        assert first.status_code == 202, first.text
        assert first.json()["status"] == "queued"
        again = await app.post(url, json={"text": "Temos sim! 🎂"}, headers=headers)
        assert again.json()["id"] == first.json()["id"]
    message_id = first.json()["id"]
    final = await _until(
        db,
        "select status, key_id from evolution_messages where id = :id",
        {"id": message_id},
        lambda r: r and r[0]["status"] == "READ",
    )
    assert final[0]["key_id"]
    ours = await rows(
        db,
        "select count(*) as n from evolution_messages where conversation_id = :c and from_me",
        c=conversation_id,
    )
    assert ours == [{"n": 1}]  # the send.message echo merged into our row
    sent = (await sim.get(f"/_sim/instances/{name}/sent")).json()
    assert len(sent) == 1
    await sim.aclose()


async def test_number_not_on_whatsapp_fails_without_sending(
    simulator: tuple[str, str, str],
    live_server: str,
    live_worker: None,
    db: Database,
    factory: Factory,
    runtime: Runtime,
) -> None:
    company_id, name, _, sim = await _connected_instance(simulator, db, factory, runtime)
    async with db.service_session() as session:
        conversation_id = (
            await session.execute(
                text(
                    "insert into evolution_conversations (company_id, instance_id, remote_jid)"
                    " select company_id, id, '5511900001111@s.whatsapp.net'"
                    " from evolution_instances where external_id = :n returning id"
                ),
                {"n": name},
            )
        ).scalar_one()
    admin = await factory.user(company_id, Role.ADMIN)
    async with httpx.AsyncClient(base_url=live_server, timeout=10) as app:
        response = await app.post(
            f"/api/conversations/{conversation_id}/messages",
            json={"text": "Olá"},
            headers=await login(app, admin),
        )
        assert response.status_code == 202
    failed = await _until(
        db,
        "select status, error_detail from evolution_messages where id = :id",
        {"id": response.json()["id"]},
        lambda r: r and r[0]["status"] == "ERROR",
    )
    assert "não está no WhatsApp" in failed[0]["error_detail"]
    assert (await sim.get(f"/_sim/instances/{name}/sent")).json() == []
    await sim.aclose()


async def test_operator_cannot_send_in_a_conversation_they_cannot_see(
    client: httpx.AsyncClient, db: Database, factory: Factory
) -> None:
    from tests.evolution.harness import new_instance, post, text_message

    instance = await new_instance(db, factory)
    await post(client, instance.envelope(text_message("SEEN1")))
    owner = await factory.user(instance.company_id, Role.OPERATOR)
    intruder = await factory.user(instance.company_id, Role.OPERATOR)
    async with db.service_session() as session:
        conversation_id = (
            await session.execute(
                text(
                    "update evolution_conversations set assignee_id = :a where instance_id = :i"
                    " returning id"
                ),
                {"a": owner.id, "i": instance.instance_id},
            )
        ).scalar_one()
    response = await client.post(
        f"/api/conversations/{conversation_id}/messages",
        json={"text": "intrometido"},
        headers=await login(client, intruder),
    )
    assert response.status_code == 404
    queued = await rows(
        db, "select count(*) as n from evolution_messages where conversation_id = :c and from_me",
        c=conversation_id,
    )  # fmt: skip
    assert queued == [{"n": 0}]


async def test_start_a_conversation_by_phone_in_any_format(
    simulator: tuple[str, str, str],
    live_server: str,
    live_worker: None,
    db: Database,
    factory: Factory,
    runtime: Runtime,
) -> None:
    company_id, name, _, sim = await _connected_instance(simulator, db, factory, runtime)
    instance = await rows(db, "select id from evolution_instances where external_id = :n", n=name)
    operator = await factory.user(company_id, Role.OPERATOR)
    async with httpx.AsyncClient(base_url=live_server, timeout=10) as app:
        headers = await login(app, operator)
        body = {
            "instance_id": str(instance[0]["id"]),
            "phone": "(11) 97654-3210",
            "text": "Oi Rita!",
        }
        first = await app.post("/api/messages", json=body, headers=headers)
        assert first.status_code == 202, first.text
        second = await app.post(
            "/api/messages", json={**body, "text": "Tudo bem?"}, headers=headers
        )
        assert second.json()["conversation_id"] == first.json()["conversation_id"]
        mine = await app.get("/api/conversations", params={"assignee": "me"}, headers=headers)
        assert [c["id"] for c in mine.json()["items"]] == [first.json()["conversation_id"]]
        bad = await app.post("/api/messages", json={**body, "phone": "123"}, headers=headers)
        assert bad.status_code == 422
    await _until(
        db,
        "select count(*) as n from evolution_messages where conversation_id = :c"
        " and status in ('DELIVERY_ACK', 'READ')",
        {"c": first.json()["conversation_id"]},
        lambda r: r and r[0]["n"] == 2,
    )
    assert len((await sim.get(f"/_sim/instances/{name}/sent")).json()) == 2
    await sim.aclose()


async def test_the_jid_whatsapp_answers_with_becomes_a_key_of_the_contact(
    simulator: tuple[str, str, str],
    live_server: str,
    live_worker: None,
    db: Database,
    factory: Factory,
    runtime: Runtime,
) -> None:
    """WhatsApp still knows some Brazilian mobiles without the ninth digit: the JID a send went
    to is recorded as the contact's, so that person's next message finds the same contact."""
    company_id, name, _, sim = await _connected_instance(simulator, db, factory, runtime)
    legacy = {"phone": "5531987651234", "name": "Seu Tonho", "legacy_without_ninth": True}
    assert (await sim.post("/_sim/customers", json=legacy)).status_code == 201
    instance = await rows(db, "select id from evolution_instances where external_id = :n", n=name)
    operator = await factory.user(company_id, Role.OPERATOR)
    async with httpx.AsyncClient(base_url=live_server, timeout=10) as app:
        headers = await login(app, operator)
        for text_body in ("Bom dia, seu Tonho!", "Seu pedido chegou."):
            sent = await app.post(
                "/api/messages",
                json={"instance_id": str(instance[0]["id"]), "phone": "(31) 98765-1234",
                      "text": text_body},
                headers=headers,
            )  # fmt: skip
            assert sent.status_code == 202, sent.text
            await _until(
                db,
                "select key_id from evolution_messages where id = :m",
                {"m": sent.json()["id"]},
                lambda r: r and r[0]["key_id"],
            )
    keys = await rows(
        db,
        "select i.kind, i.value from contact_identities i"
        " join evolution_conversations c on c.contact_id = i.contact_id"
        " where c.id = :c order by i.kind, i.value",
        c=sent.json()["conversation_id"],
    )
    assert {"kind": "jid", "value": "553187651234@s.whatsapp.net"} in keys
    await sim.aclose()


async def test_mark_read_clears_unread_and_tells_whatsapp(
    simulator: tuple[str, str, str],
    live_server: str,
    live_worker: None,
    db: Database,
    factory: Factory,
    runtime: Runtime,
) -> None:
    company_id, name, _, sim = await _connected_instance(simulator, db, factory, runtime)
    for words in ("Oi", "Alguém aí?"):
        await sim.post(
            f"/_sim/instances/{name}/inbound",
            json={"from": CUSTOMER, "type": "text", "text": words},
        )
    conversation = await _until(
        db,
        "select id, unread_count from evolution_conversations where company_id = :c",
        {"c": company_id},
        lambda r: r and r[0]["unread_count"] == 2,
    )
    supervisor = await factory.user(company_id, Role.SUPERVISOR)
    async with httpx.AsyncClient(base_url=live_server, timeout=10) as app:
        response = await app.post(
            f"/api/conversations/{conversation[0]['id']}/read", headers=await login(app, supervisor)
        )
        assert response.status_code == 204
    assert (
        await rows(
            db,
            "select unread_count from evolution_conversations where id = :i",
            i=conversation[0]["id"],
        )
    ) == [{"unread_count": 0}]
    reads: list[Any] = []
    for _ in range(100):
        reads = (await sim.get(f"/_sim/instances/{name}/reads")).json()
        if reads:
            break
        await asyncio.sleep(0.1)
    assert len(reads) == 2
    await sim.aclose()


async def _reply(
    live_server: str, company_id: uuid.UUID, conversation_id: Any, text_body: str
) -> str:
    async with httpx.AsyncClient(base_url=live_server, timeout=10) as app:
        headers = await login(app, await _any_admin(company_id))
        response = await app.post(
            f"/api/conversations/{conversation_id}/messages",
            json={"text": text_body},
            headers=headers,
        )
        assert response.status_code == 202, response.text
        return str(response.json()["id"])


_ADMINS: dict[uuid.UUID, Any] = {}


async def _any_admin(company_id: uuid.UUID) -> Any:
    return _ADMINS[company_id]


async def _customer_chat(
    simulator: tuple[str, str, str], db: Database, factory: Factory, runtime: Runtime
) -> tuple[uuid.UUID, str, httpx.AsyncClient, Any]:
    company_id, name, _, sim = await _connected_instance(simulator, db, factory, runtime)
    _ADMINS[company_id] = await factory.user(company_id, Role.ADMIN)
    await sim.post(
        f"/_sim/instances/{name}/inbound", json={"from": CUSTOMER, "type": "text", "text": "Oi"}
    )
    found = await _until(
        db, "select id from evolution_conversations where company_id = :c", {"c": company_id}, bool
    )
    return company_id, name, sim, found[0]["id"]


async def test_a_5xx_after_the_message_went_out_does_not_send_it_twice(
    simulator: tuple[str, str, str],
    live_server: str,
    live_worker: None,
    db: Database,
    factory: Factory,
    runtime: Runtime,
) -> None:
    company_id, name, sim, conversation_id = await _customer_chat(simulator, db, factory, runtime)
    # The gateway sends, then answers 500: the echo arrives, our retry must adopt it.
    faults = {"rest_error_rate": 1.0, "rest_error_after_send": True}
    assert (await sim.put(f"/_sim/faults?instance={name}", json=faults)).status_code == 200
    message_id = await _reply(live_server, company_id, conversation_id, "Só uma vez, por favor")
    await _until(
        db,
        "select key_id from evolution_messages where id = :id",
        {"id": message_id},
        lambda r: r and r[0]["key_id"] is not None,
    )
    sent = (await sim.get(f"/_sim/instances/{name}/sent")).json()
    assert len(sent) == 1
    ours = await rows(
        db, "select count(*) as n from evolution_messages where conversation_id = :c and from_me",
        c=conversation_id,
    )  # fmt: skip
    assert ours == [{"n": 1}]
    await sim.aclose()


async def test_transient_gateway_errors_are_retried_until_each_message_goes_once(
    simulator: tuple[str, str, str],
    live_server: str,
    live_worker: None,
    db: Database,
    factory: Factory,
    runtime: Runtime,
) -> None:
    company_id, name, sim, conversation_id = await _customer_chat(simulator, db, factory, runtime)
    assert (
        await sim.put(f"/_sim/faults?instance={name}", json={"rest_error_rate": 0.3})
    ).status_code == 200
    ids = [
        await _reply(live_server, company_id, conversation_id, f"mensagem {n}") for n in range(5)
    ]
    await _until(
        db,
        "select count(*) as n from evolution_messages where id = any(:ids) and key_id is not null",
        {"ids": ids},
        lambda r: r and r[0]["n"] == 5,
    )
    bodies = [
        item["request"]["text"] for item in (await sim.get(f"/_sim/instances/{name}/sent")).json()
    ]
    assert sorted(bodies) == sorted(f"mensagem {n}" for n in range(5))
    await sim.aclose()


async def test_a_disconnected_instance_holds_sends_until_it_reconnects(
    simulator: tuple[str, str, str],
    live_server: str,
    live_worker: None,
    db: Database,
    factory: Factory,
    runtime: Runtime,
) -> None:
    company_id, name, sim, conversation_id = await _customer_chat(simulator, db, factory, runtime)
    # Logged out (a transient drop reconnects by itself): sends must wait for the pairing.
    await sim.post(f"/_sim/instances/{name}/connection", json={"action": "logout"})
    await sim.post("/_sim/drain")
    await _until(
        db,
        "select connection_state as s from evolution_instances where external_id = :n",
        {"n": name},
        lambda r: r and r[0]["s"] != "open",
    )
    message_id = await _reply(live_server, company_id, conversation_id, "Volto já")
    await asyncio.sleep(1.5)
    held = await rows(db, "select status from evolution_messages where id = :id", id=message_id)
    assert held == [{"status": "queued"}]
    assert (await sim.get(f"/_sim/instances/{name}/sent")).json() == []
    # Pair again. `connecting` and `open` carry the same date_time on the simulator's clock,
    # so concurrent deliveries may leave `connecting` last: pair until `open` is what we hold.
    for _ in range(5):
        await sim.post(f"/_sim/instances/{name}/connection", json={"action": "pair"})
        await sim.post("/_sim/drain")
        state = await rows(
            db, "select connection_state from evolution_instances where external_id = :n", n=name
        )
        if state[0]["connection_state"] == "open":
            break
    await _until(
        db,
        "select key_id from evolution_messages where id = :id",
        {"id": message_id},
        lambda r: r and r[0]["key_id"] is not None,
    )
    await sim.aclose()


async def test_react_to_a_customer_message(
    simulator: tuple[str, str, str],
    live_server: str,
    live_worker: None,
    db: Database,
    factory: Factory,
    runtime: Runtime,
) -> None:
    company_id, name, sim, _ = await _customer_chat(simulator, db, factory, runtime)
    target = await _until(
        db,
        "select id from evolution_messages where company_id = :c and not from_me",
        {"c": company_id},
        bool,
    )
    async with httpx.AsyncClient(base_url=live_server, timeout=10) as app:
        headers = await login(app, await _any_admin(company_id))
        url = f"/api/messages/{target[0]['id']}/reaction"
        reacted = await app.post(url, json={"emoji": "👍"}, headers=headers)
        assert reacted.status_code == 202, reacted.text
        assert reacted.json()["reactions"]["me"]["emoji"] == "👍"
        too_long = await app.post(url, json={"emoji": "x" * 17}, headers=headers)
        assert too_long.status_code == 422
    for _ in range(100):
        sent = (await sim.get(f"/_sim/instances/{name}/sent")).json()
        if sent:
            break
        await asyncio.sleep(0.1)
    assert [item["request"]["reaction"] for item in sent] == ["👍"]
    await sim.aclose()


async def _rotate(sim: httpx.AsyncClient, name: str) -> str:
    token = f"tok-rotated-{uuid.uuid4().hex}"
    changed = await sim.post(f"/_sim/instances/{name}/token", json={"token": token})
    assert changed.status_code == 200, changed.text
    return token


async def test_a_send_refused_for_a_rotated_token_syncs_it_and_goes_out_once(
    simulator: tuple[str, str, str],
    live_server: str,
    live_worker: None,
    settings: Settings,
    db: Database,
    factory: Factory,
    runtime: Runtime,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    company_id, name, sim, conversation_id = await _customer_chat(simulator, db, factory, runtime)
    new_token = await _rotate(sim, name)
    # The session's worker may now ask Evolution for the instances' tokens (the global key).
    with_key = settings.model_copy(update={"evolution_global_key": SecretStr(SIMULATOR_KEY)})
    monkeypatch.setattr(runtime, "settings", with_key)
    message_id = await _reply(live_server, company_id, conversation_id, "Depois da troca")
    await _until(
        db,
        "select key_id, status, error_detail from evolution_messages where id = :id",
        {"id": message_id},
        lambda r: r and r[0]["key_id"] is not None,
        seconds=40,  # a retry after a refused send call waits out the echo grace (rule 2)
    )
    sent = (await sim.get(f"/_sim/instances/{name}/sent")).json()
    assert [item["request"]["text"] for item in sent] == ["Depois da troca"]
    stored = await rows(
        db, "select api_key_hash from evolution_instances where external_id = :n", n=name
    )
    assert stored == [{"api_key_hash": hashlib.sha256(new_token.encode()).hexdigest()}]
    await sim.aclose()


async def test_without_a_global_key_a_refused_credential_fails_the_send_at_once(
    simulator: tuple[str, str, str],
    live_server: str,
    live_worker: None,
    db: Database,
    factory: Factory,
    runtime: Runtime,
) -> None:
    company_id, name, sim, conversation_id = await _customer_chat(simulator, db, factory, runtime)
    await _rotate(sim, name)
    message_id = await _reply(live_server, company_id, conversation_id, "Sem chave global")
    failed = await _until(
        db,
        "select status, error_detail from evolution_messages where id = :id",
        {"id": message_id},
        lambda r: r and r[0]["status"] == "ERROR",
    )
    assert failed[0]["error_detail"]
    assert (await sim.get(f"/_sim/instances/{name}/sent")).json() == []
    await sim.aclose()
