"""Chats given back to the queue: by a supervisor (an agent left early), by an agent for their
own, and by deactivating a user, whose chats nobody else would see otherwise. Closed chats
keep who served them; the distributor then hands the rest out."""

from __future__ import annotations

from typing import Any

import httpx

from tests.conftest import Factory, login
from tests.distribution.test_distribute import (
    Team,
    assignees,
    customers_write,
    new_team,
    taking_chats,
    turn_on,
)
from tests.evolution.harness import rows
from tests.messaging.chats import stream_payloads
from zapcrm.db import Database
from zapcrm.distribution.jobs import distribute_once
from zapcrm.models import Role
from zapcrm.outbox import INCOMING_STREAM
from zapcrm.runtime import Runtime


async def anas_chats(client: httpx.AsyncClient, db: Database, team: Team, prefix: str) -> list[Any]:
    """Three chats of Ana's: one open, one pending, one closed."""
    chats = await customers_write(client, db, team, 3, prefix)
    headers = await login(client, team.ana)
    for chat in chats:
        taken = await client.post(
            f"/api/conversations/{chat}/assign",
            json={"assignee_id": str(team.ana.id)},
            headers=headers,
        )
        assert taken.status_code == 200, taken.text
    for chat, status in ((chats[1], "pending"), (chats[2], "closed")):
        changed = await client.post(
            f"/api/conversations/{chat}/status", json={"status": status}, headers=headers
        )
        assert changed.status_code == 200, changed.text
    return chats


async def test_a_supervisor_gives_an_agents_open_chats_back_and_they_are_redistributed(
    client: httpx.AsyncClient, db: Database, factory: Factory, runtime: Runtime
) -> None:
    team = await new_team(db, factory)
    chats = await anas_chats(client, db, team, "REL1")
    supervisor = await factory.user(team.company_id, Role.SUPERVISOR)
    released = await client.post(
        f"/api/distribution/release/{team.ana.id}", headers=await login(client, supervisor)
    )
    assert released.status_code == 200, released.text
    assert released.json() == {"released": 2}
    assert await assignees(db, chats) == [None, None, team.ana.id]  # the closed one stays hers
    announced = {
        payload["conversation_id"]
        for payload in await stream_payloads(runtime, INCOMING_STREAM)
        if payload.get("kind") == "conversation"
    }
    assert {str(chats[0]), str(chats[1])} <= announced

    await turn_on(client, team)
    await taking_chats(client, runtime, team.bia)
    await distribute_once(runtime)
    # The open chat goes to Bia; the pending one waits for its moment, as before.
    assert await assignees(db, chats) == [team.bia.id, None, team.ana.id]


async def test_an_agent_gives_back_their_own_but_not_a_colleagues(
    client: httpx.AsyncClient, db: Database, factory: Factory
) -> None:
    team = await new_team(db, factory)
    chats = await anas_chats(client, db, team, "REL2")
    bia = await login(client, team.bia)
    refused = await client.post(f"/api/distribution/release/{team.ana.id}", headers=bia)
    assert refused.status_code == 403
    assert (
        refused.json()["error"]["message"] == "só supervisores devolvem as conversas de um colega"
    )
    own = await client.post(
        f"/api/distribution/release/{team.ana.id}", headers=await login(client, team.ana)
    )
    assert own.json() == {"released": 2}
    assert await assignees(db, chats) == [None, None, team.ana.id]
    stranger = await factory.user(await factory.company(), Role.OPERATOR)
    supervisor = await login(client, await factory.user(team.company_id, Role.SUPERVISOR))
    missing = await client.post(f"/api/distribution/release/{stranger.id}", headers=supervisor)
    assert missing.status_code == 404


async def test_deactivating_a_user_puts_their_chats_back_in_the_queue_and_says_so(
    client: httpx.AsyncClient, db: Database, factory: Factory
) -> None:
    team = await new_team(db, factory)
    chats = await anas_chats(client, db, team, "REL3")
    deactivated = await client.post(
        f"/api/admin/users/{team.ana.id}/deactivate", headers=await login(client, team.admin)
    )
    assert deactivated.status_code == 200, deactivated.text
    assert await assignees(db, chats) == [None, None, team.ana.id]
    [audit] = await rows(
        db,
        "select details from audit_log where action = 'user.updated' and target_id = :u",
        u=str(team.ana.id),
    )
    assert audit["details"]["released_conversations"] == 2
    # Waiting for the relay (after its grace), the panels hear of each chat.
    pending = await rows(
        db,
        "select payload ->> 'conversation_id' as chat from outbox where company_id = :c"
        " and payload ->> 'kind' = 'conversation'",
        c=team.company_id,
    )
    assert {str(chats[0]), str(chats[1])} <= {row["chat"] for row in pending}
