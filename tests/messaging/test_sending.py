"""Sending through the queue to the simulated gateway: ticks, idempotency, refusals, RLS."""

from __future__ import annotations

import asyncio
import hashlib
import uuid
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from tests.conftest import SIMULATOR_KEY, Factory, login
from tests.evolution.harness import new_instance, post, rows, text_message
from tests.messaging.chats import assign, new_chat
from tests.messaging.gateway import CustomerChat, Gateway, count_from_me, until
from zapcrm.config import Settings
from zapcrm.db import Database
from zapcrm.models import Role
from zapcrm.runtime import Runtime


async def test_reply_goes_out_once_and_ticks_to_read(live_worker: None, gateway: Gateway) -> None:
    await gateway.customer_writes("Oi, tem bolo?")
    conversation_id = await gateway.until_conversation()
    operator = await gateway.user(Role.OPERATOR)
    async with gateway.app() as app:
        headers = {**await login(app, operator), "Idempotency-Key": "reply-1"}
        url = f"/api/conversations/{conversation_id}/messages"
        first = await app.post(url, json={"text": "Temos sim! 🎂"}, headers=headers)
        assert first.status_code == 202, first.text
        assert first.json()["status"] == "queued"
        again = await app.post(url, json={"text": "Temos sim! 🎂"}, headers=headers)
        assert again.json()["id"] == first.json()["id"]
    final = await gateway.until_status(first.json()["id"], "READ")
    assert final["key_id"]
    assert await count_from_me(gateway.db, conversation_id) == 1  # the echo merged into our row
    assert len(await gateway.sent()) == 1


async def test_number_not_on_whatsapp_fails_without_sending(
    live_worker: None, gateway: Gateway
) -> None:
    conversation_id = await gateway.conversation_with("5511900001111")
    admin = await gateway.user(Role.ADMIN)
    async with gateway.app() as app:
        response = await app.post(
            f"/api/conversations/{conversation_id}/messages",
            json={"text": "Olá"},
            headers=await login(app, admin),
        )
        assert response.status_code == 202
    failed = await gateway.until_status(response.json()["id"], "ERROR")
    assert "não está no WhatsApp" in failed["error_detail"]
    assert await gateway.sent() == []


async def test_operator_cannot_send_in_a_conversation_they_cannot_see(
    client: httpx.AsyncClient, db: Database, factory: Factory
) -> None:
    chat = await new_chat(client, db, factory, "SEEN1")
    owner = await factory.user(chat.instance.company_id, Role.OPERATOR)
    intruder = await factory.user(chat.instance.company_id, Role.OPERATOR)
    await assign(db, chat.conversation_id, owner.id)
    response = await client.post(
        f"/api/conversations/{chat.conversation_id}/messages",
        json={"text": "intrometido"},
        headers=await login(client, intruder),
    )
    assert response.status_code == 404
    assert await count_from_me(db, chat.conversation_id) == 0


async def test_start_a_conversation_by_phone_in_any_format(
    live_worker: None, gateway: Gateway
) -> None:
    operator = await gateway.user(Role.OPERATOR)
    async with gateway.app() as app:
        headers = await login(app, operator)
        body = {
            "instance_id": str(await gateway.instance_id()),
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
    await until(
        gateway.db,
        "select count(*) as n from evolution_messages where conversation_id = :c"
        " and status in ('DELIVERY_ACK', 'READ')",
        {"c": first.json()["conversation_id"]},
        lambda r: r and r[0]["n"] == 2,
    )
    assert len(await gateway.sent()) == 2


async def test_writing_to_a_number_finds_the_chat_it_already_has_under_another_key(
    client: httpx.AsyncClient, db: Database, factory: Factory
) -> None:
    """The customer's chat came in under the 12-digit id of an older Brazilian account; typing
    their number (with the ninth digit) opens that chat, or says a colleague has it."""
    instance = await new_instance(db, factory)
    legacy = text_message("LEG1", remote_jid="551187650001@s.whatsapp.net", text_body="Oi")
    assert (await post(client, instance.envelope(legacy))).status_code == 200
    chats = await rows(
        db, "select id from evolution_conversations where instance_id = :i", i=instance.instance_id
    )
    operator = await factory.user(instance.company_id, Role.OPERATOR)
    colleague = await factory.user(instance.company_id, Role.OPERATOR)
    headers = await login(client, operator)
    body = {"instance_id": str(instance.instance_id), "phone": "11 98765-0001", "text": "Olá!"}
    await assign(db, chats[0]["id"], colleague.id)
    taken = await client.post("/api/messages", json=body, headers=headers)
    assert taken.status_code == 409, taken.text
    await assign(db, chats[0]["id"], None)
    sent = await client.post("/api/messages", json=body, headers=headers)
    assert sent.status_code == 202, sent.text
    assert sent.json()["conversation_id"] == str(chats[0]["id"])
    after = await rows(
        db, "select id from evolution_conversations where instance_id = :i", i=instance.instance_id
    )
    assert len(after) == 1


async def test_the_jid_whatsapp_answers_with_becomes_a_key_of_the_contact(
    live_worker: None, gateway: Gateway
) -> None:
    """WhatsApp still knows some Brazilian mobiles without the ninth digit: the JID a send went
    to is recorded as the contact's, so that person's next message finds the same contact."""
    await gateway.new_customer("5531987651234", "Seu Tonho", legacy_without_ninth=True)
    instance_id = await gateway.instance_id()
    operator = await gateway.user(Role.OPERATOR)
    async with gateway.app() as app:
        headers = await login(app, operator)
        for text_body in ("Bom dia, seu Tonho!", "Seu pedido chegou."):
            sent = await app.post(
                "/api/messages",
                json={"instance_id": str(instance_id), "phone": "(31) 98765-1234",
                      "text": text_body},
                headers=headers,
            )  # fmt: skip
            assert sent.status_code == 202, sent.text
            await gateway.until_keyed(sent.json()["id"])
    keys = await rows(
        gateway.db,
        "select i.kind, i.value from contact_identities i"
        " join evolution_conversations c on c.contact_id = i.contact_id"
        " where c.id = :c order by i.kind, i.value",
        c=sent.json()["conversation_id"],
    )
    assert {"kind": "jid", "value": "553187651234@s.whatsapp.net"} in keys


async def test_mark_read_clears_unread_and_tells_whatsapp(
    live_worker: None, gateway: Gateway
) -> None:
    for words in ("Oi", "Alguém aí?"):
        await gateway.customer_writes(words)
    conversation = await until(
        gateway.db,
        "select id, unread_count from evolution_conversations where company_id = :c",
        {"c": gateway.company_id},
        lambda r: r and r[0]["unread_count"] == 2,
    )
    supervisor = await gateway.user(Role.SUPERVISOR)
    async with gateway.app() as app:
        response = await app.post(
            f"/api/conversations/{conversation[0]['id']}/read", headers=await login(app, supervisor)
        )
        assert response.status_code == 204
    assert (
        await rows(
            gateway.db,
            "select unread_count from evolution_conversations where id = :i",
            i=conversation[0]["id"],
        )
    ) == [{"unread_count": 0}]
    reads: list[Any] = []
    for _ in range(100):
        reads = (await gateway.sim.get(f"/_sim/instances/{gateway.name}/reads")).json()
        if reads:
            break
        await asyncio.sleep(0.1)
    assert len(reads) == 2


async def test_a_5xx_after_the_message_went_out_does_not_send_it_twice(
    live_worker: None, gateway: Gateway, customer_chat: CustomerChat
) -> None:
    # The gateway sends, then answers 500: the echo arrives, our retry must adopt it.
    await gateway.set_faults(rest_error_rate=1.0, rest_error_after_send=True)
    message_id = await customer_chat.reply("Só uma vez, por favor")
    await gateway.until_keyed(message_id)
    assert len(await gateway.sent()) == 1
    assert await count_from_me(gateway.db, customer_chat.conversation_id) == 1


async def test_transient_gateway_errors_are_retried_until_each_message_goes_once(
    live_worker: None, gateway: Gateway, customer_chat: CustomerChat
) -> None:
    await gateway.set_faults(rest_error_rate=0.3)
    ids = [await customer_chat.reply(f"mensagem {n}") for n in range(5)]
    await until(
        gateway.db,
        "select count(*) as n from evolution_messages where id = any(:ids) and key_id is not null",
        {"ids": ids},
        lambda r: r and r[0]["n"] == 5,
    )
    bodies = [item["request"]["text"] for item in await gateway.sent()]
    assert sorted(bodies) == sorted(f"mensagem {n}" for n in range(5))


async def test_a_disconnected_instance_holds_sends_until_it_reconnects(
    live_worker: None, gateway: Gateway, customer_chat: CustomerChat
) -> None:
    # Logged out (a transient drop reconnects by itself): sends must wait for the pairing.
    await gateway.set_connection("logout")
    await gateway.until_state(lambda state: state != "open")
    message_id = await customer_chat.reply("Volto já")
    await asyncio.sleep(1.5)
    held = await rows(
        gateway.db, "select status from evolution_messages where id = :id", id=message_id
    )
    assert held == [{"status": "queued"}]
    assert await gateway.sent() == []
    # Pair again. `connecting` and `open` carry the same date_time on the simulator's clock,
    # so concurrent deliveries may leave `connecting` last: pair until `open` is what we hold.
    for _ in range(5):
        await gateway.set_connection("pair")
        if await gateway.connection_state() == "open":
            break
    await gateway.until_keyed(message_id)


async def test_react_to_a_customer_message(
    live_worker: None, gateway: Gateway, customer_chat: CustomerChat
) -> None:
    target = await until(
        gateway.db,
        "select id from evolution_messages where company_id = :c and not from_me",
        {"c": gateway.company_id},
        bool,
    )
    async with gateway.app() as app:
        headers = await login(app, customer_chat.admin)
        url = f"/api/messages/{target[0]['id']}/reaction"
        reacted = await app.post(url, json={"emoji": "👍"}, headers=headers)
        assert reacted.status_code == 202, reacted.text
        assert reacted.json()["reactions"]["me"]["emoji"] == "👍"
        too_long = await app.post(url, json={"emoji": "x" * 17}, headers=headers)
        assert too_long.status_code == 422
    sent = await gateway.until_sent()
    assert [item["request"]["reaction"] for item in sent] == ["👍"]


async def _rotate_token(gateway: Gateway) -> str:
    """The simulator gives the instance a new token, which our database does not know."""
    token = f"tok-rotated-{uuid.uuid4().hex}"
    changed = await gateway.sim.post(f"/_sim/instances/{gateway.name}/token", json={"token": token})
    assert changed.status_code == 200, changed.text
    return token


async def test_a_send_refused_for_a_rotated_token_syncs_it_and_goes_out_once(
    live_worker: None,
    gateway: Gateway,
    customer_chat: CustomerChat,
    settings: Settings,
    runtime: Runtime,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    new_token = await _rotate_token(gateway)
    # The session's worker may now ask Evolution for the instances' tokens (the global key).
    with_key = settings.model_copy(update={"evolution_global_key": SecretStr(SIMULATOR_KEY)})
    monkeypatch.setattr(runtime, "settings", with_key)
    message_id = await customer_chat.reply("Depois da troca")
    # A retry after a refused send call waits out the echo grace (rule 2).
    await gateway.until_keyed(message_id, seconds=40)
    assert [item["request"]["text"] for item in await gateway.sent()] == ["Depois da troca"]
    stored = await rows(
        gateway.db, "select api_key_hash from evolution_instances where external_id = :n",
        n=gateway.name,
    )  # fmt: skip
    assert stored == [{"api_key_hash": hashlib.sha256(new_token.encode()).hexdigest()}]


async def test_without_a_global_key_a_refused_credential_fails_the_send_at_once(
    live_worker: None, gateway: Gateway, customer_chat: CustomerChat
) -> None:
    await _rotate_token(gateway)
    message_id = await customer_chat.reply("Sem chave global")
    failed = await gateway.until_status(message_id, "ERROR")
    assert failed["error_detail"]
    assert await gateway.sent() == []
