"""The demo's month of service: the same past on every run, chats that read like a shop's
(customers first, replies after them and in opening hours, closed before today), written once,
and figures the reports, contacts and search then show."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import httpx

from tests.conftest import Factory, identity_of, login
from tests.evolution.harness import new_instance, rows
from zapcrm.cli import DEMO_ATTRIBUTES
from zapcrm.contacts import definitions
from zapcrm.contacts.schemas import AttributeIn, StageIn
from zapcrm.db import Database
from zapcrm.demo import history
from zapcrm.demo.service import seed_history
from zapcrm.models import Role

BRT = ZoneInfo("America/Sao_Paulo")
TODAY = date(2026, 11, 28)


def test_the_month_is_the_same_on_every_run_and_reads_like_a_shops() -> None:
    people, chats = history.month(TODAY, BRT, 2)
    again = history.month(TODAY, BRT, 2)
    assert (people, [c.lines for c in chats]) == (again[0], [c.lines for c in again[1]])
    assert len({person.phone for person in people}) == len(people) == 90
    assert 250 < len(chats) < 500
    start = datetime.combine(TODAY - timedelta(days=history.DAYS), datetime.min.time(), BRT)
    end = datetime.combine(TODAY, datetime.min.time(), BRT)
    for chat in chats:
        assert chat.started_at >= start
        assert chat.closed_at is not None
        assert chat.closed_at < end
        assert chat.lines[0].agent is None  # the customer writes first
        times = [line.at for line in chat.lines]
        assert times == sorted(times)
        reply = chat.first_reply_at
        assert reply is not None
        assert reply >= history.next_opening(chat.started_at)  # answered when the shop is open
    # Most of it is the operator's; the supervisor answers the rest.
    olga = sum(1 for chat in chats if chat.agent == 0)
    assert 0.5 < olga / len(chats) < 0.8
    # Each chat in the department its subject belongs to (payments in Financeiro, some in none).
    assert len(history.SCRIPT_DEPARTMENTS) == len(history.SCRIPTS)
    assert {chat.department for chat in chats} == {"Encomendas", "Financeiro", None}
    # Most customers grade the service, mostly well, after the close and before their next chat.
    graded = [chat for chat in chats if chat.rating is not None]
    assert 0.55 < len(graded) / len(chats) < 0.85
    assert sum(1 for chat in graded if chat.rating and chat.rating >= 4) > 0.7 * len(graded)
    following: dict[int, datetime] = {}
    for chat in reversed(chats):
        if chat.rated_at is not None and chat.closed_at is not None:
            assert chat.closed_at < chat.rated_at < following.get(chat.customer, end)
        following[chat.customer] = chat.started_at


async def test_seeding_writes_the_month_once_and_reports_contacts_and_search_show_it(
    client: httpx.AsyncClient, db: Database, factory: Factory
) -> None:
    instance = await new_instance(db, factory)
    company = instance.company_id
    admin = await factory.user(company, Role.ADMIN)
    olga = await factory.user(company, Role.OPERATOR)
    sergio = await factory.user(company, Role.SUPERVISOR)
    actor = identity_of(admin)
    today = datetime.now(UTC).astimezone(BRT).date()
    async with db.service_session() as session:
        for position, key in enumerate(("novo", "negociacao", "cliente", "perdido")):
            await definitions.create_stage(
                session, actor, StageIn(key=key, label=key.title(), position=position)
            )
        for position, (key, label, kind) in enumerate(DEMO_ATTRIBUTES):
            await definitions.create_attribute(
                session, actor, AttributeIn(key=key, label=label, type=kind, position=position)
            )
        written = await seed_history(
            session, actor, instance.instance_id, [olga.id, sergio.id], today, BRT
        )
    async with db.service_session() as session:
        again = await seed_history(
            session, actor, instance.instance_id, [olga.id, sergio.id], today, BRT
        )
    assert written > 250
    assert again == 0
    [cycles] = await rows(
        db, "select count(*) as n from conversation_cycles where company_id = :c", c=company
    )
    assert cycles["n"] == written
    # Every cycle was asked; each grade is a message of the customer's carrying it.
    graded = await rows(
        db,
        "select cc.rating, m.body, m.from_me, m.message_payload from conversation_cycles cc"
        " join evolution_messages m on m.id = cc.rating_message_id where cc.company_id = :c",
        c=company,
    )
    assert len(graded) > written / 2
    for row in graded:
        assert row["message_payload"] == {"survey_rating": row["rating"]}
        assert (row["body"], row["from_me"]) == (str(row["rating"]), False)
    # The survey's automatic lines are never a chat's latest (the inbox rule for them).
    latest = await rows(
        db,
        "select m.message_payload from evolution_conversations c"
        " join evolution_messages m on m.id = c.last_message_id where c.company_id = :c",
        c=company,
    )
    assert latest
    automatic = {"survey_request", "survey_reply"}
    assert not [row for row in latest if automatic & set(row["message_payload"])]
    [asked] = await rows(
        db,
        "select count(*) as n from conversation_cycles where company_id = :c"
        " and survey_sent_at = closed_at",
        c=company,
    )
    assert asked["n"] == written

    headers = await login(client, sergio)
    period = {
        "from": (today - timedelta(days=history.DAYS)).isoformat(),
        "to": (today - timedelta(days=1)).isoformat(),
    }
    summary = (await client.get("/api/reports/summary", params=period, headers=headers)).json()
    assert (summary["cycles_started"], summary["cycles_closed"]) == (written, written)
    assert summary["first_response"]["count"] == written
    agents = {row["agent_id"]: row for row in summary["agents"]}
    assert set(agents) == {str(olga.id), str(sergio.id)}
    assert (
        agents[str(olga.id)]["conversations_handled"]
        > agents[str(sergio.id)]["conversations_handled"]
    )
    contacts = (await client.get("/api/contacts", params={"limit": 5}, headers=headers)).json()
    assert contacts["items"]
    # Most people gave an e-mail: a domain search finds some of them, and only those.
    at_gmail = await client.get(
        "/api/contacts", params={"q": "@gmail.com", "limit": 100}, headers=headers
    )
    found = at_gmail.json()["items"]
    assert found
    assert all(item["email"].endswith("@gmail.com") for item in found)
    # The funnel has something to sum: orders in talks and of clients have a value.
    funnel = await client.get(
        "/api/contacts/funnel", params={"value": "valor_pedido"}, headers=headers
    )
    worth = {column["key"]: column["value"] for column in funnel.json()["columns"]}
    assert float(worth["negociacao"]) > 0
    assert float(worth["cliente"]) > 0
    assert (worth["novo"], worth["perdido"]) == (None, None)
    hits = await client.get("/api/messages/search", params={"q": "pedido"}, headers=headers)
    assert hits.status_code == 200
    assert hits.json()["items"]
