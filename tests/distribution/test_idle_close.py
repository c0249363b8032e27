"""Chats the customer stopped answering close by themselves after the hours an admin chose:
only open 1:1 chats whose last message is ours; a customer waiting for us, a snoozed chat and
a group are left alone; the cycle ends with nobody as its closer, and the customer's next
message opens a new one."""

from __future__ import annotations

import time
from typing import Any

import httpx
from sqlalchemy import text

from tests.conftest import Factory, login
from tests.distribution.test_distribute import Team, new_team
from tests.evolution.harness import post, rows, text_message
from tests.messaging.chats import stream_payloads
from zapcrm.db import Database
from zapcrm.distribution.jobs import distribute_once
from zapcrm.outbox import INCOMING_STREAM
from zapcrm.runtime import Runtime

HOUR = 3600


async def chat_with(
    client: httpx.AsyncClient,
    db: Database,
    team: Team,
    phone: str,
    *,
    ours_ago: int | None,
    theirs_ago: int,
) -> Any:
    """A customer wrote `theirs_ago` seconds ago and we answered `ours_ago` seconds ago (or
    not); the chat's id."""
    now = int(time.time())
    jid = f"{phone}@s.whatsapp.net"
    first = text_message(f"IDLE-{phone}-IN", remote_jid=jid, timestamp=now - theirs_ago)
    assert (await post(client, team.instance.envelope(first))).status_code == 200
    if ours_ago is not None:
        reply = text_message(
            f"IDLE-{phone}-OUT", remote_jid=jid, from_me=True, timestamp=now - ours_ago
        )
        assert (await post(client, team.instance.envelope(reply))).status_code == 200
    [row] = await rows(
        db,
        "select conversation_id from evolution_messages where key_id = :k",
        k=f"IDLE-{phone}-IN",
    )
    return row["conversation_id"]


async def statuses(db: Database, chats: list[Any]) -> list[str]:
    found = {
        row["id"]: row["status"]
        for row in await rows(
            db, "select id, status from evolution_conversations where id = any(:ids)", ids=chats
        )
    }
    return [found[chat] for chat in chats]


async def test_idle_chats_close_after_the_chosen_hours_and_only_those(
    client: httpx.AsyncClient, db: Database, factory: Factory, runtime: Runtime
) -> None:
    team = await new_team(db, factory)
    saved = await client.put(
        "/api/distribution/settings",
        json={"enabled": False, "idle_close_hours": 2},
        headers=await login(client, team.admin),
    )
    assert saved.json()["idle_close_hours"] == 2
    idle = await chat_with(
        client, db, team, "5541990000001", ours_ago=3 * HOUR, theirs_ago=4 * HOUR
    )
    recent = await chat_with(client, db, team, "5541990000002", ours_ago=HOUR, theirs_ago=4 * HOUR)
    waiting = await chat_with(client, db, team, "5541990000003", ours_ago=None, theirs_ago=5 * HOUR)
    snoozed = await chat_with(
        client, db, team, "5541990000004", ours_ago=5 * HOUR, theirs_ago=6 * HOUR
    )
    group = await chat_with(
        client, db, team, "5541990000005", ours_ago=5 * HOUR, theirs_ago=6 * HOUR
    )
    async with db.service_session() as session:
        await session.execute(
            text("update evolution_conversations set status = 'pending' where id = :id"),
            {"id": snoozed},
        )
        await session.execute(
            text("update evolution_conversations set is_group = true where id = :id"),
            {"id": group},
        )

    await distribute_once(runtime)

    chats = [idle, recent, waiting, snoozed, group]
    assert await statuses(db, chats) == ["closed", "open", "open", "pending", "open"]
    cycles = await rows(
        db,
        "select closed_at is not null as closed, closed_by from conversation_cycles"
        " where conversation_id = :c",
        c=idle,
    )
    assert cycles == [{"closed": True, "closed_by": None}]
    announced = [
        payload
        for payload in await stream_payloads(runtime, INCOMING_STREAM)
        if payload.get("kind") == "conversation" and payload.get("conversation_id") == str(idle)
    ]
    assert announced

    # The customer comes back: the chat opens again with a new service cycle.
    back = text_message("IDLE-5541990000001-BACK", remote_jid="5541990000001@s.whatsapp.net",
                        timestamp=int(time.time()))  # fmt: skip
    assert (await post(client, team.instance.envelope(back))).status_code == 200
    assert await statuses(db, [idle]) == ["open"]
    [count] = await rows(
        db, "select count(*) as n from conversation_cycles where conversation_id = :c", c=idle
    )
    assert count["n"] == 2


async def test_without_the_setting_nothing_closes_by_itself(
    client: httpx.AsyncClient, db: Database, factory: Factory, runtime: Runtime
) -> None:
    team = await new_team(db, factory)
    await client.put(
        "/api/distribution/settings",
        json={"enabled": True},
        headers=await login(client, team.admin),
    )
    idle = await chat_with(
        client, db, team, "5541990000011", ours_ago=300 * HOUR, theirs_ago=301 * HOUR
    )
    await distribute_once(runtime)
    assert await statuses(db, [idle]) == ["open"]


async def test_the_customer_is_told_when_an_idle_chat_closes_if_the_company_wrote_what(
    client: httpx.AsyncClient, db: Database, factory: Factory, runtime: Runtime
) -> None:
    team = await new_team(db, factory)
    saved = await client.put(
        "/api/distribution/settings",
        json={
            "enabled": False,
            "idle_close_hours": 1,
            "idle_close_message": "  Encerramos por falta de resposta. É só escrever!  ",
        },
        headers=await login(client, team.admin),
    )
    assert saved.json()["idle_close_message"] == "Encerramos por falta de resposta. É só escrever!"
    idle = await chat_with(
        client, db, team, "5541990000021", ours_ago=2 * HOUR, theirs_ago=3 * HOUR
    )
    await distribute_once(runtime)
    told = await rows(
        db,
        "select body, status, sent_by, message_payload from evolution_messages"
        " where conversation_id = :c and from_me and key_id is null",
        c=idle,
    )
    assert told == [
        {
            "body": "Encerramos por falta de resposta. É só escrever!",
            "status": "queued",
            "sent_by": None,
            "message_payload": {"closing_reply": True},
        }
    ]
    [chat] = await rows(
        db,
        "select status, last_message_preview from evolution_conversations where id = :c",
        c=idle,
    )
    assert chat["status"] == "closed"
    assert chat["last_message_preview"] != "Encerramos por falta de resposta. É só escrever!"
    blank = await client.put(
        "/api/distribution/settings",
        json={"enabled": False, "idle_close_hours": 1, "idle_close_message": "   "},
        headers=await login(client, team.admin),
    )
    assert blank.json()["idle_close_message"] is None
