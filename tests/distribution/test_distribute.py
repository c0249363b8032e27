"""Automatic distribution on real Postgres and Redis: chats a customer opened go to the agents
taking chats with the panel open, by load and in turns, never past the limit, never twice,
and each one is announced for the panel of the agent who got it."""

from __future__ import annotations

import asyncio
import time
import uuid
from dataclasses import dataclass
from typing import Any

import httpx

from tests.conftest import Factory, UserFixture, login
from tests.evolution.harness import Instance, new_instance, post, rows, text_message
from tests.messaging.chats import stream_payloads
from zapcrm.db import Database
from zapcrm.distribution import presence, service
from zapcrm.distribution.jobs import distribute_once
from zapcrm.models import Role
from zapcrm.outbox import INCOMING_STREAM
from zapcrm.runtime import Runtime


@dataclass
class Team:
    """A company with an instance, an admin and three operators."""

    instance: Instance
    admin: UserFixture
    ana: UserFixture
    bia: UserFixture
    caio: UserFixture

    @property
    def company_id(self) -> uuid.UUID:
        return self.instance.company_id


async def new_team(db: Database, factory: Factory) -> Team:
    instance = await new_instance(db, factory)
    company = instance.company_id
    return Team(
        instance,
        await factory.user(company, Role.ADMIN),
        await factory.user(company, Role.OPERATOR),
        await factory.user(company, Role.OPERATOR),
        await factory.user(company, Role.OPERATOR),
    )


async def turn_on(
    client: httpx.AsyncClient, team: Team, max_open_per_agent: int | None = None
) -> None:
    response = await client.put(
        "/api/distribution/settings",
        json={"enabled": True, "max_open_per_agent": max_open_per_agent},
        headers=await login(client, team.admin),
    )
    assert response.status_code == 200, response.text


async def taking_chats(
    client: httpx.AsyncClient, runtime: Runtime, user: UserFixture, *, online: bool = True
) -> None:
    """The user switches "taking chats" on (and has the panel open, unless `online` is off)."""
    response = await client.put(
        "/api/me/availability", json={"accepting": True}, headers=await login(client, user)
    )
    assert response.status_code == 200, response.text
    if online:
        await presence.mark_present(runtime.redis, user.company_id, user.id)


async def customers_write(
    client: httpx.AsyncClient, db: Database, team: Team, count: int, prefix: str
) -> list[Any]:
    """`count` new customers write, a minute apart; their chats, oldest first."""
    chats = []
    for n in range(count):
        key_id = f"{prefix}-{n}"
        body = text_message(
            key_id,
            remote_jid=f"55119{n:04d}{abs(hash(prefix)) % 10000:04d}@s.whatsapp.net",
            timestamp=1763326182 + 60 * n,
        )
        assert (await post(client, team.instance.envelope(body))).status_code == 200
        [row] = await rows(
            db,
            "select conversation_id from evolution_messages where instance_id = :i and key_id = :k",
            i=team.instance.instance_id,
            k=key_id,
        )
        chats.append(row["conversation_id"])
    return chats


async def assignees(db: Database, chats: list[Any]) -> list[Any]:
    """Each chat's assignee, in the chats' order."""
    found = {
        row["id"]: row["assignee_id"]
        for row in await rows(
            db,
            "select id, assignee_id from evolution_conversations where id = any(:ids)",
            ids=chats,
        )
    }
    return [found[chat] for chat in chats]


async def test_chats_go_to_the_agent_taking_chats_with_the_panel_open_and_are_announced(
    client: httpx.AsyncClient, db: Database, factory: Factory, runtime: Runtime
) -> None:
    team = await new_team(db, factory)
    await turn_on(client, team)
    await taking_chats(client, runtime, team.ana)
    await taking_chats(client, runtime, team.bia, online=False)  # switch on, panel closed
    await presence.mark_present(runtime.redis, team.company_id, team.caio.id)  # open, switch off
    chats = await customers_write(client, db, team, 3, "DST1")
    # A chat we wrote last (a campaign's message, say) waits for the customer, not for us.
    ours = text_message("DST1-OURS", remote_jid="5511988880001@s.whatsapp.net", from_me=True)
    assert (await post(client, team.instance.envelope(ours))).status_code == 200
    [ours_row] = await rows(
        db, "select conversation_id from evolution_messages where key_id = 'DST1-OURS'"
    )

    await distribute_once(runtime)

    assert await assignees(db, chats) == [team.ana.id] * 3
    assert await assignees(db, [ours_row["conversation_id"]]) == [None]
    chat_ids = {str(chat) for chat in chats}
    announced = [
        payload
        for payload in await stream_payloads(runtime, INCOMING_STREAM)
        if payload.get("distributed") and payload.get("conversation_id") in chat_ids
    ]
    assert len(announced) == 3
    # The service cycle is Ana's too (reports count it for her).
    cycles = await rows(
        db,
        "select distinct assignee_id from conversation_cycles where conversation_id = any(:ids)",
        ids=chats,
    )
    assert cycles == [{"assignee_id": team.ana.id}]


async def test_equal_agents_take_turns_and_the_busier_one_waits_for_the_others(
    client: httpx.AsyncClient, db: Database, factory: Factory, runtime: Runtime
) -> None:
    team = await new_team(db, factory)
    await turn_on(client, team)
    for agent in (team.ana, team.bia, team.caio):
        await taking_chats(client, runtime, agent)
    [earlier] = await customers_write(client, db, team, 1, "DST2A")
    taken = await client.post(
        f"/api/conversations/{earlier}/assign",
        json={"assignee_id": str(team.caio.id)},
        headers=await login(client, team.caio),
    )
    assert taken.status_code == 200, taken.text
    chats = await customers_write(client, db, team, 5, "DST2B")

    await distribute_once(runtime)

    given = await assignees(db, chats)
    # Ana and Bia first (no chat yet), then everyone has one and the turns go on.
    assert set(given[:2]) == {team.ana.id, team.bia.id}
    assert given[2] == team.caio.id
    assert given.count(team.ana.id) == given.count(team.bia.id) == 2


async def test_the_limit_holds_and_the_next_chat_goes_out_when_one_is_closed(
    client: httpx.AsyncClient, db: Database, factory: Factory, runtime: Runtime
) -> None:
    team = await new_team(db, factory)
    await turn_on(client, team, max_open_per_agent=2)
    await taking_chats(client, runtime, team.ana)
    chats = await customers_write(client, db, team, 3, "DST3")

    await distribute_once(runtime)
    assert await assignees(db, chats) == [team.ana.id, team.ana.id, None]  # oldest first

    closed = await client.post(
        f"/api/conversations/{chats[0]}/status",
        json={"status": "closed"},
        headers=await login(client, team.ana),
    )
    assert closed.status_code == 200, closed.text
    await distribute_once(runtime)
    assert (await assignees(db, chats))[2] == team.ana.id


async def test_two_distributors_at_once_never_give_a_chat_twice_or_pass_the_limit(
    client: httpx.AsyncClient, db: Database, factory: Factory, runtime: Runtime
) -> None:
    team = await new_team(db, factory)
    await turn_on(client, team, max_open_per_agent=3)
    await taking_chats(client, runtime, team.ana)
    chats = await customers_write(client, db, team, 6, "DST4")

    async def one_round() -> list[Any]:
        async with db.service_session() as session:
            return await service.distribute(session, runtime.redis, team.company_id, 3)

    first, second = await asyncio.gather(one_round(), one_round())
    assert len(first) + len(second) == 3
    assert (await assignees(db, chats)).count(team.ana.id) == 3


async def test_without_distribution_turned_on_chats_stay_unassigned(
    client: httpx.AsyncClient, db: Database, factory: Factory, runtime: Runtime
) -> None:
    team = await new_team(db, factory)
    await taking_chats(client, runtime, team.ana)
    chats = await customers_write(client, db, team, 2, "DST5")
    await distribute_once(runtime)
    assert await assignees(db, chats) == [None, None]
    # Turned on and off again: still nobody's.
    headers = await login(client, team.admin)
    off = await client.put("/api/distribution/settings", json={"enabled": False}, headers=headers)
    assert off.json() == {
        "enabled": False,
        "max_open_per_agent": None,
        "idle_close_hours": None,
        "idle_close_message": None,
        "updated_at": off.json()["updated_at"],
    }
    await distribute_once(runtime)
    assert await assignees(db, chats) == [None, None]


async def test_a_signed_out_agent_gets_no_more_chats(
    client: httpx.AsyncClient, db: Database, factory: Factory, runtime: Runtime
) -> None:
    team = await new_team(db, factory)
    await turn_on(client, team)
    await taking_chats(client, runtime, team.ana)
    await presence.mark_absent(runtime.redis, team.company_id, team.ana.id)  # what logout does
    chats = await customers_write(client, db, team, 1, "DST6")
    await distribute_once(runtime)
    assert await assignees(db, chats) == [None]


async def test_a_customer_choosing_in_the_menu_waits_and_then_goes_to_that_departments_member(
    client: httpx.AsyncClient, db: Database, factory: Factory, runtime: Runtime
) -> None:
    team = await new_team(db, factory)
    await turn_on(client, team)
    admin = await login(client, team.admin)
    sales = await client.post(
        "/api/departments", json={"name": "Vendas", "member_ids": [str(team.bia.id)]}, headers=admin
    )
    assert sales.status_code == 201, sales.text
    menu = {"enabled": True, "greeting": "Escolha:"}
    assert (await client.put("/api/departments/menu", json=menu, headers=admin)).status_code == 200
    for agent in (team.ana, team.bia):
        await taking_chats(client, runtime, agent)
    # Ana is the least busy, but the customer is reading the menu: nobody gets the chat yet.
    busy = await customers_write(client, db, team, 1, "DSTM-BUSY")
    await rows(
        db,
        "update evolution_conversations set assignee_id = :bia where id = :id returning id",
        bia=team.bia.id,
        id=busy[0],
    )
    phone = "5511977770001@s.whatsapp.net"
    now = int(time.time())
    first = text_message("DSTM-1", remote_jid=phone, text_body="Oi", timestamp=now)
    assert (await post(client, team.instance.envelope(first))).status_code == 200
    [chat] = await rows(
        db, "select conversation_id from evolution_messages where key_id = 'DSTM-1'"
    )
    await distribute_once(runtime)
    assert await assignees(db, [chat["conversation_id"]]) == [None]
    # Sales it is: only Bia works there, busier or not.
    choice = text_message("DSTM-2", remote_jid=phone, text_body="1", timestamp=now + 1)
    assert (await post(client, team.instance.envelope(choice))).status_code == 200
    await distribute_once(runtime)
    assert await assignees(db, [chat["conversation_id"]]) == [team.bia.id]
