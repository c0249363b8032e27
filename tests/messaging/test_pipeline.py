"""Webhook -> Postgres -> outbox -> worker -> Redis caches -> API and live SSE, for real.

The app runs on a real socket (uvicorn) and the worker runs its real runtime, so the SSE
stream is read by an HTTP client exactly as a browser would.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
from sqlalchemy import text

from tests.conftest import Factory
from tests.evolution.harness import Instance, new_instance, text_message
from tests.live import SseReader, token_headers
from tests.messaging.chats import assign
from zapcrm.db import Database
from zapcrm.messaging import cache
from zapcrm.models import Role
from zapcrm.runtime import Runtime


async def _post(http: httpx.AsyncClient, instance: Instance, body: dict[str, Any]) -> None:
    response = await http.post("/webhooks/evolution", json=instance.envelope(body))
    assert response.status_code == 200, response.text


async def test_message_flows_to_cache_api_and_live_events(
    live_server: str, live_worker: None, db: Database, factory: Factory, runtime: Runtime
) -> None:
    instance = await new_instance(db, factory)
    operator = await factory.user(instance.company_id, Role.OPERATOR)
    other = await factory.user(instance.company_id, Role.OPERATOR)
    async with httpx.AsyncClient(base_url=live_server, timeout=10) as http:
        reader = SseReader(http, await token_headers(http, operator))
        other_reader = SseReader(http, await token_headers(http, other))
        await asyncio.wait_for(asyncio.gather(reader.ready.wait(), other_reader.ready.wait()), 10)

        await _post(http, instance, text_message("E2E-1", text_body="Olá, vocês abrem sábado?"))
        event = await reader.wait_for(lambda e: e["type"] == "message.created")
        message = event["data"]["message"]
        assert message["body"] == "Olá, vocês abrem sábado?"
        conversation_id = message["conversation_id"]

        # The worker wrote the message's snapshot.
        assert await runtime.redis.exists(cache.message_key(message["id"]))

        headers = await token_headers(http, operator)
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
        await assign(db, conversation_id, other.id)
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
    live_server: str, live_worker: None, db: Database, factory: Factory, runtime: Runtime
) -> None:
    instance = await new_instance(db, factory)
    supervisor = await factory.user(instance.company_id, Role.SUPERVISOR)
    async with httpx.AsyncClient(base_url=live_server, timeout=10) as http:
        reader = SseReader(http, await token_headers(http, supervisor))
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


async def test_a_transfer_says_who_gave_the_chat_and_taking_it_oneself_does_not(
    live_server: str, live_worker: None, db: Database, factory: Factory
) -> None:
    instance = await new_instance(db, factory)
    supervisor = await factory.user(instance.company_id, Role.SUPERVISOR)
    operator = await factory.user(instance.company_id, Role.OPERATOR)
    async with httpx.AsyncClient(base_url=live_server, timeout=10) as http:
        reader = SseReader(http, await token_headers(http, operator))
        await asyncio.wait_for(reader.ready.wait(), 10)
        await _post(http, instance, text_message("E2E-T1", text_body="Preciso de ajuda"))
        created = await reader.wait_for(lambda e: e["type"] == "message.created")
        url = f"/api/conversations/{created['data']['message']['conversation_id']}/assign"

        # The operator takes it: no one gave it to them.
        mine = await token_headers(http, operator)
        taken = await http.post(url, json={"assignee_id": str(operator.id)}, headers=mine)
        assert taken.status_code == 200, taken.text
        own = await reader.wait_for(lambda e: e["type"] == "conversation.updated")
        assert "assigned_by" not in own["data"]

        # Given back to nobody, then by the supervisor to the operator: the event says who.
        boss = await token_headers(http, supervisor)
        for assignee in (None, str(operator.id)):
            moved = await http.post(url, json={"assignee_id": assignee}, headers=boss)
            assert moved.status_code == 200, moved.text
        given = await reader.wait_for(
            lambda e: e["type"] == "conversation.updated" and "assigned_by" in e["data"]
        )
        assert given["data"]["assigned_by"] == str(supervisor.id)
        assert given["data"]["conversation"]["assignee_id"] == str(operator.id)
        await reader.close()


async def test_a_chat_sent_to_a_department_says_who_sent_it(
    live_server: str, live_worker: None, db: Database, factory: Factory
) -> None:
    instance = await new_instance(db, factory)
    admin = await factory.user(instance.company_id, Role.ADMIN)
    member = await factory.user(instance.company_id, Role.OPERATOR)
    async with httpx.AsyncClient(base_url=live_server, timeout=10) as http:
        boss = await token_headers(http, admin)
        finance = await http.post(
            "/api/departments",
            json={"name": "Financeiro", "member_ids": [str(member.id)]},
            headers=boss,
        )
        assert finance.status_code == 201, finance.text
        reader = SseReader(http, await token_headers(http, member))
        await asyncio.wait_for(reader.ready.wait(), 10)
        await _post(http, instance, text_message("E2E-D1", text_body="Segunda via do boleto"))
        created = await reader.wait_for(lambda e: e["type"] == "message.created")
        conversation_id = created["data"]["message"]["conversation_id"]
        routed = await http.post(
            f"/api/conversations/{conversation_id}/department",
            json={"department_id": finance.json()["id"]},
            headers=boss,
        )
        assert routed.status_code == 200, routed.text
        sent = await reader.wait_for(
            lambda e: e["type"] == "conversation.updated" and "routed_by" in e["data"]
        )
        assert sent["data"]["routed_by"] == str(admin.id)
        assert sent["data"]["conversation"]["department_name"] == "Financeiro"
        await reader.close()


async def test_an_operator_hears_nothing_of_another_departments_waiting_chat(
    live_server: str, live_worker: None, db: Database, factory: Factory
) -> None:
    instance = await new_instance(db, factory)
    admin = await factory.user(instance.company_id, Role.ADMIN)
    seller = await factory.user(instance.company_id, Role.OPERATOR)
    async with httpx.AsyncClient(base_url=live_server, timeout=10) as http:
        boss = await token_headers(http, admin)
        departments = {}
        for name, members in (("Vendas", [str(seller.id)]), ("Financeiro", [])):
            created = await http.post(
                "/api/departments", json={"name": name, "member_ids": members}, headers=boss
            )
            assert created.status_code == 201, created.text
            departments[name] = created.json()["id"]
        watcher = SseReader(http, await token_headers(http, admin))
        reader = SseReader(http, await token_headers(http, seller))
        await asyncio.wait_for(reader.ready.wait(), 10)
        await asyncio.wait_for(watcher.ready.wait(), 10)
        await _post(http, instance, text_message("E2E-V1", text_body="Quero comprar"))
        first = await reader.wait_for(lambda e: e["type"] == "message.created")
        conversation_id = first["conversation_id"]

        # Sent to Financeiro: the seller gets its id and version only, and nothing after.
        routed = await http.post(
            f"/api/conversations/{conversation_id}/department",
            json={"department_id": departments["Financeiro"]},
            headers=boss,
        )
        assert routed.status_code == 200, routed.text
        gone = await reader.wait_for(lambda e: e["type"] == "conversation.hidden")
        assert gone["conversation_id"] == conversation_id
        assert set(gone["data"]) == {"version"}
        await _post(
            http, instance, text_message("E2E-V2", text_body="Segunda via do boleto, CPF 123")
        )
        await watcher.wait_for(
            lambda e: (
                e["type"] == "message.created"
                and e["data"]["message"]["body"] == "Segunda via do boleto, CPF 123"
            )
        )
        assert "CPF 123" not in json.dumps(reader.events)
        seen = [e["type"] for e in reader.events if e["conversation_id"] == conversation_id]
        assert seen[-1] == "conversation.hidden"
        assert seen.count("message.created") == 1  # the first message, before it was routed
        await reader.close()
        await watcher.close()
