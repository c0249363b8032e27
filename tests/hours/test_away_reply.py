"""The out-of-office reply: who gets it, once a day, and what it leaves in the inbox."""

from __future__ import annotations

import time as clock
import uuid
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from tests.conftest import Factory, login
from tests.evolution.harness import Instance, new_instance, post, rows, text_message
from tests.messaging.gateway import CUSTOMER, Gateway
from tests.web.conftest import Browser, panel_login
from zapcrm.db import Database
from zapcrm.models import Role

BRT = ZoneInfo("America/Sao_Paulo")
ALWAYS_OPEN = {str(day): {"opens": "00:00", "closes": "23:59:59"} for day in range(1, 8)}
MESSAGE = "Olá {{primeiro_nome|cliente}}! Estamos fechados; voltamos {{reabertura|em breve}}."
CHAT = "5511987654321@s.whatsapp.net"


async def company_with_hours(
    client: httpx.AsyncClient, db: Database, factory: Factory, **hours: Any
) -> Instance:
    """A company with a number whose admin saved these hours (closed all week by default)."""
    instance = await new_instance(db, factory, name=f"loja-{uuid.uuid4().hex[:8]}")
    admin = await login(client, await factory.user(instance.company_id, Role.ADMIN))
    body = {"schedule": {}, "away_enabled": True, "away_message": MESSAGE} | hours
    saved = await client.put("/api/business-hours", json=body, headers=admin)
    assert saved.status_code == 200, saved.text
    return instance


async def customer_writes(
    client: httpx.AsyncClient,
    instance: Instance,
    words: str,
    *,
    ago: timedelta = timedelta(0),
    **options: Any,
) -> None:
    message = text_message(
        f"IN-{uuid.uuid4().hex[:12]}",
        text_body=words,
        timestamp=int(clock.time() - ago.total_seconds()),
        **options,
    )
    response = await post(client, instance.envelope(message))
    assert response.status_code == 200, response.text


async def replies(db: Database, instance: Instance) -> list[dict[str, Any]]:
    return await rows(
        db,
        "select m.body, m.status, m.sent_by, m.message_payload, m.conversation_id"
        " from evolution_messages m where m.instance_id = :i and m.from_me order by m.created_at",
        i=instance.instance_id,
    )


async def test_a_customer_writing_while_closed_is_told_once_that_day(
    client: httpx.AsyncClient, db: Database, factory: Factory
) -> None:
    instance = await company_with_hours(client, db, factory)
    await customer_writes(client, instance, "Oi, vocês entregam hoje?")
    await customer_writes(client, instance, "Alguém aí?")
    [reply] = await replies(db, instance)
    # Maria's first name came from her WhatsApp profile; nothing says when it opens again.
    assert reply["body"] == "Olá Maria! Estamos fechados; voltamos em breve."
    assert (reply["status"], reply["sent_by"]) == ("queued", None)
    assert reply["message_payload"] == {"away_reply": True}
    jobs = await rows(
        db,
        "select 1 from outbox where stream = 'evolution:outgoing-messages' and company_id = :c",
        c=instance.company_id,
    )
    assert len(jobs) <= 1  # published and removed, or waiting for the relay
    # The chat still waits for a person: the customer spoke last, both messages unread.
    [chat] = await rows(
        db,
        "select status, unread_count, last_message_from_me, last_message_preview,"
        " last_outbound_at from evolution_conversations where id = :id",
        id=reply["conversation_id"],
    )
    assert chat == {
        "status": "open",
        "unread_count": 2,
        "last_message_from_me": False,
        "last_message_preview": "Alguém aí?",
        "last_outbound_at": None,
    }


async def test_the_next_day_the_chat_gets_it_again(
    client: httpx.AsyncClient, db: Database, factory: Factory
) -> None:
    instance = await company_with_hours(client, db, factory)
    await customer_writes(client, instance, "Oi")
    # The reply went out before midnight of the company's day...
    midnight = datetime.now(BRT).replace(hour=0, minute=0, second=0, microsecond=0)
    await rows(
        db,
        "update evolution_conversations set away_replied_at = :at where instance_id = :i"
        " returning id",
        at=midnight - timedelta(minutes=1),
        i=instance.instance_id,
    )
    await customer_writes(client, instance, "Bom dia, e agora?")
    assert len(await replies(db, instance)) == 2


async def test_the_reply_says_when_the_business_opens_again(
    client: httpx.AsyncClient, db: Database, factory: Factory
) -> None:
    now = datetime.now(BRT)
    if now.hour == 0 and now.minute < 2:
        pytest.skip("the shop below is open from 00:00 to 00:01 every day")
    daily = {str(day): {"opens": "00:00", "closes": "00:01"} for day in range(1, 8)}
    instance = await company_with_hours(client, db, factory, schedule=daily)
    await customer_writes(client, instance, "Oi")
    [reply] = await replies(db, instance)
    assert reply["body"] == "Olá Maria! Estamos fechados; voltamos amanhã às 00:00."


async def test_nobody_is_answered_while_open_or_when_it_is_off(
    client: httpx.AsyncClient, db: Database, factory: Factory
) -> None:
    open_shop = await company_with_hours(client, db, factory, schedule=ALWAYS_OPEN)
    await customer_writes(client, open_shop, "Oi")
    switched_off = await company_with_hours(client, db, factory, away_enabled=False)
    await customer_writes(client, switched_off, "Oi")
    assert await replies(db, open_shop) == []
    assert await replies(db, switched_off) == []


async def test_groups_our_own_messages_and_old_messages_get_no_reply(
    client: httpx.AsyncClient, db: Database, factory: Factory
) -> None:
    instance = await company_with_hours(client, db, factory)
    await customer_writes(client, instance, "Oi grupo", remote_jid="120363040000000000@g.us")
    # Written from the shop's phone, outside the hours.
    await customer_writes(client, instance, "Já te respondo", from_me=True)
    # Backlog: a phone that was offline delivers what was written an hour ago.
    await customer_writes(client, instance, "Oi, de ontem", ago=timedelta(hours=1))
    assert [reply["body"] for reply in await replies(db, instance)] == ["Já te respondo"]


async def test_a_chat_the_team_is_answering_after_hours_is_left_alone(
    client: httpx.AsyncClient, db: Database, factory: Factory
) -> None:
    instance = await company_with_hours(client, db, factory)
    await customer_writes(client, instance, "Já te respondo", from_me=True)
    await customer_writes(client, instance, "Obrigada!")
    assert len(await replies(db, instance)) == 1  # only the team's own message


async def test_someone_answering_a_campaign_after_hours_gets_the_reply(
    client: httpx.AsyncClient, db: Database, factory: Factory
) -> None:
    instance = await company_with_hours(client, db, factory)
    await customer_writes(client, instance, "Oi", ago=timedelta(hours=2))  # backlog: no reply
    # A campaign's message reached her five minutes ago: that is not the team writing.
    await rows(
        db,
        "insert into evolution_messages (company_id, instance_id, conversation_id, key_id,"
        " from_me, remote_jid, type, body, message_timestamp, status, message_payload)"
        " select c.company_id, c.instance_id, c.id, 'CAMP-1', true, c.remote_jid, 'text',"
        " 'Natal com 20% off!', now() - interval '5 minutes', 'DELIVERY_ACK',"
        ' \'{"campaign_id": "x"}\' from evolution_conversations c'
        " where c.instance_id = :i returning id",
        i=instance.instance_id,
    )
    # ...and, sent through the queue like any message, it moved the chat's last outbound time.
    await rows(
        db,
        "update evolution_conversations set last_outbound_at = now() - interval '5 minutes'"
        " where instance_id = :i returning id",
        i=instance.instance_id,
    )
    await customer_writes(client, instance, "Quero! Como compro?")
    bodies = [reply["body"] for reply in await replies(db, instance)]
    assert bodies == ["Natal com 20% off!", "Olá Maria! Estamos fechados; voltamos em breve."]


async def test_a_duplicate_delivery_sends_nothing_more(
    client: httpx.AsyncClient, db: Database, factory: Factory
) -> None:
    instance = await company_with_hours(client, db, factory)
    message = instance.envelope(text_message("DUP-1", timestamp=int(clock.time())))
    for _ in range(3):
        assert (await post(client, message)).status_code == 200
    assert len(await replies(db, instance)) == 1


async def closed_with_reply(gateway: Gateway) -> None:
    """The simulator's company, closed all week with the reply on (saved by its admin through
    the live app), its clock at today: a message from 2025 would be backlog, not answered."""
    admin = await gateway.user(Role.ADMIN)
    async with gateway.app() as app:
        headers = await login(app, admin)
        body = {"schedule": {}, "away_enabled": True, "away_message": MESSAGE}
        saved = await app.put("/api/business-hours", json=body, headers=headers)
        assert saved.status_code == 200, saved.text
    await gateway.clock_to_now()


async def test_the_reply_reaches_the_customer_on_whatsapp(
    gateway: Gateway, live_worker: None
) -> None:
    await closed_with_reply(gateway)
    await gateway.customer_writes("Vocês abrem amanhã?")
    [sent] = await gateway.until_sent(1)
    assert sent["request"]["text"] == "Olá Rita! Estamos fechados; voltamos em breve."
    assert sent["request"]["number"].startswith(CUSTOMER)
    # WhatsApp took it: the reply has its key and the chat still waits for a person.
    row = await gateway.until_automatic_answer_keyed()
    assert row["last_message_from_me"] is False


async def test_an_echo_that_beats_the_send_answer_leaves_the_chat_waiting(
    gateway: Gateway, live_worker: None
) -> None:
    await closed_with_reply(gateway)
    # WhatsApp takes the reply and echoes it, then the gateway answers 500: the echo is stored
    # as a message of its own first (the chat's latest), folded into ours on the retry.
    await gateway.set_faults(rest_error_rate=1.0, rest_error_after_send=True)
    await gateway.customer_writes("Oi, tem alguém?")
    row = await gateway.until_automatic_answer_keyed()
    assert (row["last_message_from_me"], row["last_message_preview"]) == (
        False,
        "Oi, tem alguém?",
    )
    assert row["last_outbound_at"] is None
    assert len(await gateway.until_sent()) == 1


async def test_the_team_sees_the_reply_marked_in_the_chat(
    client: httpx.AsyncClient, db: Database, factory: Factory, new_browser: Browser
) -> None:
    instance = await company_with_hours(client, db, factory)
    await customer_writes(client, instance, "Oi, à noite vocês atendem?")
    [reply] = await replies(db, instance)
    [message] = await rows(
        db,
        "select id from evolution_messages where conversation_id = :c and from_me",
        c=reply["conversation_id"],
    )
    http = await new_browser()
    await panel_login(http, await factory.user(instance.company_id, Role.OPERATOR))
    page = await http.get(f"/panel/inbox/{reply['conversation_id']}")
    bubble = page.text.split(f'id="msg-{message["id"]}"', 1)[1].split("</article>", 1)[0]
    assert "🌙 Resposta automática (fora do horário)" in bubble
    assert "Olá Maria! Estamos fechados; voltamos em breve." in bubble


async def test_the_inbox_tells_the_team_while_closed_customers_get_the_reply(
    client: httpx.AsyncClient, db: Database, factory: Factory, new_browser: Browser
) -> None:
    banner = "Fora do horário: quem escreve agora recebe a mensagem de ausência."
    for hours, shown in (
        ({}, True),  # closed, reply on
        ({"away_enabled": False}, False),  # closed, reply off: nobody gets anything
        ({"schedule": ALWAYS_OPEN}, False),  # open
    ):
        instance = await company_with_hours(client, db, factory, **hours)
        http = await new_browser()
        await panel_login(http, await factory.user(instance.company_id, Role.OPERATOR))
        page = await http.get("/panel/inbox")
        assert (banner in page.text) is shown, hours
