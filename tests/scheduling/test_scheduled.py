"""Scheduled messages: an agent schedules a text in a chat, the worker sends it as them at its
moment (not before, once), a canceled one never goes, bad moments and texts are refused with
the field named, and nobody schedules, reads or cancels in a chat they may not see."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import text

from tests.conftest import Factory, UserFixture, login
from tests.evolution.harness import rows
from tests.messaging.chats import Chat, assign, new_chat, stream_payloads
from zapcrm.db import Database
from zapcrm.messaging.service.outbound import OUTGOING_STREAM
from zapcrm.models import Role
from zapcrm.runtime import Runtime
from zapcrm.scheduling.jobs import send_due_once


async def operators_chat(
    client: httpx.AsyncClient, db: Database, factory: Factory, key: str
) -> tuple[Chat, UserFixture, dict[str, str]]:
    chat = await new_chat(client, db, factory, key)
    operator = await factory.user(chat.instance.company_id, Role.OPERATOR)
    await assign(db, chat.conversation_id, operator.id)
    return chat, operator, await login(client, operator)


async def schedule(
    client: httpx.AsyncClient, chat: Chat, headers: dict[str, str], **body: Any
) -> httpx.Response:
    return await client.post(
        f"/api/conversations/{chat.conversation_id}/scheduled", json=body, headers=headers
    )


def ahead(**delta: float) -> datetime:
    return (datetime.now(UTC) + timedelta(**delta)).replace(microsecond=0)


async def test_a_scheduled_text_goes_at_its_moment_as_the_agent_who_wrote_it_once(
    client: httpx.AsyncClient, db: Database, factory: Factory, runtime: Runtime
) -> None:
    chat, operator, headers = await operators_chat(client, db, factory, "SCHED-1")
    at = ahead(hours=2)
    created = await schedule(
        client, chat, headers, text="  Lembrete: consulta amanhã às 9h  ", send_at=at.isoformat()
    )
    assert created.status_code == 201, created.text
    scheduled = created.json()
    assert (scheduled["body"], scheduled["status"]) == (
        "Lembrete: consulta amanhã às 9h",
        "scheduled",
    )
    assert datetime.fromisoformat(scheduled["send_at"]) == at
    listed = await client.get(
        f"/api/conversations/{chat.conversation_id}/scheduled", headers=headers
    )
    assert [item["id"] for item in listed.json()] == [scheduled["id"]]

    await send_due_once(runtime, now=at - timedelta(seconds=1))
    [still] = await rows(
        db, "select status from scheduled_messages where id = :id", id=scheduled["id"]
    )
    assert still["status"] == "scheduled"

    # Two workers' rounds at once: one send.
    await asyncio.gather(send_due_once(runtime, now=at), send_due_once(runtime, now=at))
    [sent] = await rows(
        db, "select status, message_id from scheduled_messages where id = :id", id=scheduled["id"]
    )
    assert sent["status"] == "sent"
    messages = await rows(
        db,
        "select id, from_me, sent_by, body, status from evolution_messages"
        " where conversation_id = :c and from_me",
        c=chat.conversation_id,
    )
    assert messages == [
        {
            "id": sent["message_id"],
            "from_me": True,
            "sent_by": operator.id,
            "body": "Lembrete: consulta amanhã às 9h",
            "status": "queued",
        }
    ]
    jobs = [
        p
        for p in await stream_payloads(runtime, OUTGOING_STREAM)
        if p.get("message_id") == str(sent["message_id"])
    ]
    assert len(jobs) == 1
    await send_due_once(runtime, now=at + timedelta(minutes=5))
    assert (
        len(
            await rows(
                db,
                "select 1 from evolution_messages where conversation_id = :c and from_me",
                c=chat.conversation_id,
            )
        )
        == 1
    )


async def test_a_canceled_message_never_goes_and_cannot_be_canceled_twice(
    client: httpx.AsyncClient, db: Database, factory: Factory, runtime: Runtime
) -> None:
    chat, _operator, headers = await operators_chat(client, db, factory, "SCHED-2")
    at = ahead(minutes=30)
    scheduled = (await schedule(client, chat, headers, text="Oi!", send_at=at.isoformat())).json()
    canceled = await client.post(f"/api/scheduled/{scheduled['id']}/cancel", headers=headers)
    assert canceled.json()["status"] == "canceled"
    again = await client.post(f"/api/scheduled/{scheduled['id']}/cancel", headers=headers)
    assert again.status_code == 409
    await send_due_once(runtime, now=at + timedelta(minutes=1))
    assert (
        await rows(
            db,
            "select 1 from evolution_messages where conversation_id = :c and from_me",
            c=chat.conversation_id,
        )
        == []
    )
    missing = await client.post(f"/api/scheduled/{chat.conversation_id}/cancel", headers=headers)
    assert missing.status_code == 404


async def test_bad_texts_and_moments_are_refused_with_the_field(
    client: httpx.AsyncClient, db: Database, factory: Factory
) -> None:
    chat, _operator, headers = await operators_chat(client, db, factory, "SCHED-3")
    cases = [
        ({"text": "   ", "send_at": ahead(hours=1).isoformat()}, "text"),
        ({"text": "x" * 4097, "send_at": ahead(hours=1).isoformat()}, "text"),
        ({"text": "oi", "send_at": ahead(seconds=20).isoformat()}, "send_at"),
        ({"text": "oi", "send_at": ahead(hours=-1).isoformat()}, "send_at"),
        ({"text": "oi", "send_at": ahead(days=366).isoformat()}, "send_at"),
        ({"text": "oi", "send_at": "2030-01-01T10:00:00"}, "send_at"),  # no offset
        ({"text": "oi", "send_at": "amanhã"}, "send_at"),
    ]
    for body, field in cases:
        refused = await schedule(client, chat, headers, **body)
        assert refused.status_code == 422, body
        assert refused.json()["error"]["fields"][0]["field"] == field, body
    assert (
        await rows(
            db,
            "select 1 from scheduled_messages where conversation_id = :c",
            c=chat.conversation_id,
        )
        == []
    )


async def test_nobody_schedules_reads_or_cancels_in_a_chat_they_may_not_see(
    client: httpx.AsyncClient, db: Database, factory: Factory
) -> None:
    chat, _operator, headers = await operators_chat(client, db, factory, "SCHED-4")
    scheduled = (
        await schedule(client, chat, headers, text="Oi", send_at=ahead(hours=1).isoformat())
    ).json()
    colleague = await login(client, await factory.user(chat.instance.company_id, Role.OPERATOR))
    stranger = await login(client, await factory.user(await factory.company(), Role.ADMIN))
    for other in (colleague, stranger):
        refused = await schedule(client, chat, other, text="Oi", send_at=ahead(hours=1).isoformat())
        assert refused.status_code == 404
        listed = await client.get(
            f"/api/conversations/{chat.conversation_id}/scheduled", headers=other
        )
        assert listed.status_code == 404
        cancel = await client.post(f"/api/scheduled/{scheduled['id']}/cancel", headers=other)
        assert cancel.status_code == 404
    [row] = await rows(
        db, "select status from scheduled_messages where id = :id", id=scheduled["id"]
    )
    assert row["status"] == "scheduled"


async def test_one_that_cannot_go_is_failed_with_the_reason_and_the_rest_goes_on(
    client: httpx.AsyncClient, db: Database, factory: Factory, runtime: Runtime
) -> None:
    chat, _operator, headers = await operators_chat(client, db, factory, "SCHED-5")
    at = ahead(minutes=10)
    orphan = (await schedule(client, chat, headers, text="Primeira", send_at=at.isoformat())).json()
    fine = (
        await schedule(
            client, chat, headers, text="Segunda", send_at=(at + timedelta(seconds=1)).isoformat()
        )
    ).json()
    async with db.service_session() as session:
        await session.execute(
            text("update scheduled_messages set created_by = null where id = :id"),
            {"id": orphan["id"]},
        )
    await send_due_once(runtime, now=at + timedelta(minutes=1))
    found = {
        str(row["id"]): (row["status"], row["error"])
        for row in await rows(
            db,
            "select id, status, error from scheduled_messages where conversation_id = :c",
            c=chat.conversation_id,
        )
    }
    assert found[orphan["id"]] == ("failed", "quem agendou não faz mais parte da empresa")
    assert found[fine["id"]] == ("sent", None)


async def test_nothing_goes_in_the_name_of_someone_deactivated_after_scheduling(
    client: httpx.AsyncClient, db: Database, factory: Factory, runtime: Runtime
) -> None:
    chat, operator, headers = await operators_chat(client, db, factory, "SCHED-6")
    at = ahead(minutes=10)
    pending = await schedule(client, chat, headers, text="Segue o boleto", send_at=at.isoformat())
    admin = await login(client, await factory.user(chat.instance.company_id, Role.ADMIN))
    gone = await client.post(f"/api/admin/users/{operator.id}/deactivate", headers=admin)
    assert gone.status_code == 200, gone.text
    await send_due_once(runtime, now=at + timedelta(minutes=1))
    [row] = await rows(
        db, "select status, error, message_id from scheduled_messages where id = :id",
        id=pending.json()["id"],
    )  # fmt: skip
    assert row == {
        "status": "failed",
        "error": "quem agendou foi desativado; a mensagem não foi enviada",
        "message_id": None,
    }
