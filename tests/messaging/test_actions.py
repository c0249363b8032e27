"""Conversation actions: assign, transfer, close (ending the cycle), reopen; who may do what."""

from __future__ import annotations

import httpx

from tests.conftest import Factory, login
from tests.evolution.harness import post, rows, text_message
from tests.messaging.chats import new_chat
from zapcrm.db import Database
from zapcrm.models import Role


async def test_operator_takes_transfers_and_loses_sight(
    client: httpx.AsyncClient, db: Database, factory: Factory
) -> None:
    chat = await new_chat(client, db, factory, "ACT1")
    instance, conversation_id = chat.instance, chat.conversation_id
    ana = await factory.user(instance.company_id, Role.OPERATOR)
    bia = await factory.user(instance.company_id, Role.OPERATOR)
    ana_headers = await login(client, ana)
    url = f"/api/conversations/{conversation_id}"
    taken = await client.post(
        f"{url}/assign", json={"assignee_id": str(ana.id)}, headers=ana_headers
    )
    assert taken.status_code == 200, taken.text
    assert taken.json()["assignee_id"] == str(ana.id)
    cycle = await rows(
        db, "select first_assigned_at is not null as assigned from conversation_cycles"
        " where conversation_id = :c", c=conversation_id,
    )  # fmt: skip
    assert cycle == [{"assigned": True}]
    moved = await client.post(
        f"{url}/assign", json={"assignee_id": str(bia.id)}, headers=ana_headers
    )
    assert moved.status_code == 200
    assert moved.json()["assignee_id"] == str(bia.id)
    # Ana no longer sees it; Bia does.
    assert (await client.get(url, headers=ana_headers)).status_code == 404
    assert (await client.get(url, headers=await login(client, bia))).status_code == 200
    stranger = await factory.user(await factory.company(), Role.OPERATOR)
    outsider = await client.post(
        f"{url}/assign", json={"assignee_id": str(stranger.id)}, headers=await login(client, bia)
    )
    assert outsider.status_code == 422


async def test_close_ends_the_cycle_and_a_new_message_reopens(
    client: httpx.AsyncClient, db: Database, factory: Factory
) -> None:
    chat = await new_chat(client, db, factory, "ACT1")
    instance, conversation_id = chat.instance, chat.conversation_id
    supervisor = await login(client, await factory.user(instance.company_id, Role.SUPERVISOR))
    closed = await client.post(
        f"/api/conversations/{conversation_id}/status",
        json={"status": "closed"},
        headers=supervisor,
    )
    assert closed.json()["status"] == "closed"
    await post(client, instance.envelope(text_message("ACT2", timestamp=1763329999)))
    cycles = await rows(
        db, "select closed_at is not null as closed, closed_by is not null as by"
        " from conversation_cycles where conversation_id = :c order by started_at",
        c=conversation_id,
    )  # fmt: skip
    assert cycles == [{"closed": True, "by": True}, {"closed": False, "by": False}]
    now = await client.get(f"/api/conversations/{conversation_id}", headers=supervisor)
    assert now.json()["status"] == "open"
    bad = await client.post(
        f"/api/conversations/{conversation_id}/status", json={"status": "x"}, headers=supervisor
    )
    assert bad.status_code == 422
