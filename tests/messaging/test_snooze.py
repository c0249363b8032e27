"""Snooze: a pending chat with a moment to come back; the worker's alarm clock reopens it (and
says so live), the customer's next message reopens it sooner, and a bad moment is refused."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx

from tests.conftest import Factory, login
from tests.evolution.harness import post, rows, text_message
from tests.messaging.chats import new_chat, stream_payloads
from zapcrm.db import Database
from zapcrm.messaging.snooze import wake_once
from zapcrm.models import Role
from zapcrm.outbox import INCOMING_STREAM
from zapcrm.runtime import Runtime


async def snooze(
    client: httpx.AsyncClient, conversation_id: object, headers: dict[str, str], **body: object
) -> httpx.Response:
    return await client.post(
        f"/api/conversations/{conversation_id}/status", json=body, headers=headers
    )


async def announcements(runtime: Runtime, conversation_id: object) -> int:
    """How many conversation changes of this chat the incoming stream holds."""
    return sum(
        1
        for payload in await stream_payloads(runtime, INCOMING_STREAM)
        if payload.get("kind") == "conversation"
        and payload.get("conversation_id") == str(conversation_id)
    )


async def test_a_snoozed_chat_comes_back_when_its_time_comes(
    client: httpx.AsyncClient, db: Database, factory: Factory, runtime: Runtime
) -> None:
    chat = await new_chat(client, db, factory, "SNZ1")
    headers = await login(client, await factory.user(chat.instance.company_id, Role.SUPERVISOR))
    until = (datetime.now(UTC) + timedelta(hours=2)).replace(microsecond=0)
    snoozed = await snooze(
        client, chat.conversation_id, headers, status="pending", snoozed_until=until.isoformat()
    )
    assert snoozed.status_code == 200, snoozed.text
    assert snoozed.json()["status"] == "pending"
    assert datetime.fromisoformat(snoozed.json()["snoozed_until"]) == until
    # Not yet...
    await wake_once(runtime, now=until - timedelta(seconds=1))
    still = (await client.get(f"/api/conversations/{chat.conversation_id}", headers=headers)).json()
    assert (still["status"], still["snoozed_until"] is not None) == ("pending", True)
    # ...now: open again, announced on the incoming stream for the live panel.
    before = await announcements(runtime, chat.conversation_id)
    assert await wake_once(runtime, now=until) >= 1  # this chat, and any other one due
    back = (await client.get(f"/api/conversations/{chat.conversation_id}", headers=headers)).json()
    assert (back["status"], back["snoozed_until"]) == ("open", None)
    assert await announcements(runtime, chat.conversation_id) == before + 1
    # The service cycle went on all along: no new one, nothing closed.
    cycles = await rows(
        db,
        "select closed_at from conversation_cycles where conversation_id = :c",
        c=chat.conversation_id,
    )
    assert cycles == [{"closed_at": None}]


async def test_the_customers_next_message_wakes_it_sooner(
    client: httpx.AsyncClient, db: Database, factory: Factory
) -> None:
    chat = await new_chat(client, db, factory, "SNZ2")
    headers = await login(client, await factory.user(chat.instance.company_id, Role.SUPERVISOR))
    until = datetime.now(UTC) + timedelta(days=3)
    await snooze(
        client, chat.conversation_id, headers, status="pending", snoozed_until=until.isoformat()
    )
    await post(client, chat.instance.envelope(text_message("SNZ2-B", timestamp=1763330000)))
    back = (await client.get(f"/api/conversations/{chat.conversation_id}", headers=headers)).json()
    assert (back["status"], back["snoozed_until"]) == ("open", None)


async def test_a_plain_pending_chat_stays_pending_and_closing_ends_a_snooze(
    client: httpx.AsyncClient, db: Database, factory: Factory
) -> None:
    chat = await new_chat(client, db, factory, "SNZ3")
    headers = await login(client, await factory.user(chat.instance.company_id, Role.SUPERVISOR))
    until = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    await snooze(client, chat.conversation_id, headers, status="pending", snoozed_until=until)
    closed = await snooze(client, chat.conversation_id, headers, status="closed")
    assert (closed.json()["status"], closed.json()["snoozed_until"]) == ("closed", None)
    await snooze(client, chat.conversation_id, headers, status="pending")
    await post(client, chat.instance.envelope(text_message("SNZ3-B", timestamp=1763330000)))
    pending = await client.get(f"/api/conversations/{chat.conversation_id}", headers=headers)
    assert pending.json()["status"] == "pending"


async def test_a_moment_in_the_past_too_far_or_without_a_zone_is_refused(
    client: httpx.AsyncClient, db: Database, factory: Factory
) -> None:
    chat = await new_chat(client, db, factory, "SNZ4")
    headers = await login(client, await factory.user(chat.instance.company_id, Role.SUPERVISOR))
    now = datetime.now(UTC)
    for body in (
        {"status": "pending", "snoozed_until": (now - timedelta(minutes=5)).isoformat()},
        {"status": "pending", "snoozed_until": (now + timedelta(days=400)).isoformat()},
        {"status": "pending", "snoozed_until": "2030-01-01T09:00:00"},
        {"status": "open", "snoozed_until": (now + timedelta(hours=1)).isoformat()},
    ):
        refused = await snooze(client, chat.conversation_id, headers, **body)
        assert refused.status_code == 422, body
        assert "snoozed_until" in refused.text
    unchanged = await client.get(f"/api/conversations/{chat.conversation_id}", headers=headers)
    assert (unchanged.json()["status"], unchanged.json()["snoozed_until"]) == ("open", None)
