"""GET /api/reports/summary: exact figures of a known week, period boundaries in São Paulo,
instance and agent filters, other companies' data, roles, and date validation.

The seeded week (tests/reports/helpers.py), cycles started in the period:
  first response (s): 60, 120, 300, 600 -> mean 270, median 210, p90 300 + 0.7 * 300 = 510
cycles closed in the period (one started the day before):
  resolution (s): 600, 1200, 3600, 39600 -> mean 11250, median 2400, p90 3600 + 0.7 * 36000
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from tests.conftest import Factory, login
from tests.reports.helpers import BRT, WEEK, Shop, Writer, brt, named_user, seed_shop
from zapcrm.db import Database
from zapcrm.models import Role


async def summary(
    client: httpx.AsyncClient, headers: dict[str, str], **params: str
) -> dict[str, Any]:
    """GET /api/reports/summary, asserting 200."""
    response = await client.get("/api/reports/summary", params=params, headers=headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def agents(body: dict[str, Any]) -> list[tuple[Any, ...]]:
    """The per-agent rows as tuples (name, handled, closed, sent, median first response)."""
    return [
        (
            row["name"],
            row["conversations_handled"],
            row["cycles_closed"],
            row["messages_sent"],
            row["median_first_response_seconds"],
        )
        for row in body["agents"]
    ]


async def test_a_week_of_cycles_gives_exact_counts_times_volumes_and_agent_rows(
    client: httpx.AsyncClient, shop: Shop
) -> None:
    body = await summary(client, await login(client, shop.supervisor), **WEEK)
    assert body["period"] == {
        "from": "2026-03-01",
        "to": "2026-03-07",
        "timezone": "America/Sao_Paulo",
        "business_hours": False,
    }
    assert (body["cycles_started"], body["cycles_closed"], body["cycles_open"]) == (5, 4, 2)
    assert body["first_response"] == {
        "count": 4,
        "mean_seconds": 270.0,
        "median_seconds": 210.0,
        "p90_seconds": pytest.approx(510.0),
    }
    assert body["resolution"] == {
        "count": 4,
        "mean_seconds": 11250.0,
        "median_seconds": 2400.0,
        "p90_seconds": pytest.approx(28800.0),
    }
    # Queued and refused sends never left; the reply typed on the phone did.
    assert (body["messages_inbound"], body["messages_outbound"]) == (5, 5)
    assert agents(body) == [
        ("Ana Atendente", 3, 2, 3, 120.0),
        ("Bruno Atendente", 1, 2, 1, 300.0),
    ]
    assert [row["agent_id"] for row in body["agents"]] == [str(shop.ana.id), str(shop.bruno.id)]


async def test_days_are_read_in_the_company_zone_2330_on_the_last_day_is_in_0010_after_is_out(
    client: httpx.AsyncClient, shop: Shop
) -> None:
    headers = await login(client, shop.supervisor)
    last_day = await summary(client, headers, **{"from": "2026-03-07", "to": "2026-03-07"})
    assert (last_day["cycles_started"], last_day["first_response"]["median_seconds"]) == (1, 600.0)
    # 23:40 BRT is already the next day in UTC; it still belongs to the 7th.
    assert (last_day["messages_inbound"], last_day["messages_outbound"]) == (1, 1)
    next_day = await summary(client, headers, **{"from": "2026-03-08", "to": "2026-03-08"})
    assert (next_day["cycles_started"], next_day["first_response"]["median_seconds"]) == (1, 10.0)
    assert next_day["messages_inbound"] == 1
    # The first day starts at 00:00 BRT: the cycle of the 28th is out, its close on the 1st in.
    first_day = await summary(client, headers, **{"from": "2026-03-01", "to": "2026-03-01"})
    assert (first_day["cycles_started"], first_day["cycles_closed"]) == (0, 1)
    assert first_day["resolution"]["median_seconds"] == 39600.0
    assert first_day["first_response"] == {
        "count": 0,
        "mean_seconds": None,
        "median_seconds": None,
        "p90_seconds": None,
    }
    assert agents(first_day) == [("Bruno Atendente", 0, 1, 0, None)]


async def test_instance_filter_keeps_only_that_numbers_conversations(
    client: httpx.AsyncClient, shop: Shop
) -> None:
    headers = await login(client, shop.supervisor)
    body = await summary(client, headers, instance_id=str(shop.filial), **WEEK)
    assert (body["cycles_started"], body["cycles_closed"], body["cycles_open"]) == (2, 0, 2)
    assert body["first_response"] == {
        "count": 1,
        "mean_seconds": 600.0,
        "median_seconds": 600.0,
        "p90_seconds": 600.0,
    }
    assert body["resolution"] == {
        "count": 0,
        "mean_seconds": None,
        "median_seconds": None,
        "p90_seconds": None,
    }
    assert (body["messages_inbound"], body["messages_outbound"]) == (2, 2)
    assert agents(body) == [("Ana Atendente", 1, 0, 1, 600.0)]


async def test_agent_filter_keeps_the_agents_conversations_and_only_their_row(
    client: httpx.AsyncClient, shop: Shop
) -> None:
    headers = await login(client, shop.supervisor)
    body = await summary(client, headers, agent_id=str(shop.bruno.id), **WEEK)
    assert (body["cycles_started"], body["cycles_closed"], body["cycles_open"]) == (1, 2, 0)
    assert body["first_response"]["median_seconds"] == 300.0
    assert body["resolution"] == {
        "count": 2,
        "mean_seconds": 21600.0,
        "median_seconds": 21600.0,
        "p90_seconds": pytest.approx(36000.0),
    }
    assert (body["messages_inbound"], body["messages_outbound"]) == (1, 1)
    assert agents(body) == [("Bruno Atendente", 1, 2, 1, 300.0)]


async def test_another_companys_data_never_appears(
    client: httpx.AsyncClient, db: Database, factory: Factory, shop: Shop
) -> None:
    other = await seed_shop(db, factory)
    headers = await login(client, shop.supervisor)
    body = await summary(client, headers, **WEEK)
    assert (body["cycles_started"], body["messages_inbound"]) == (5, 5)
    assert {row["agent_id"] for row in body["agents"]} == {str(shop.ana.id), str(shop.bruno.id)}
    # Naming the other company's number or agent finds nothing rather than their figures.
    for params in ({"instance_id": str(other.loja)}, {"agent_id": str(other.ana.id)}):
        foreign = await summary(client, headers, **params, **WEEK)
        assert (foreign["cycles_started"], foreign["cycles_closed"]) == (0, 0)
        assert (foreign["messages_inbound"], foreign["messages_outbound"]) == (0, 0)
        assert foreign["agents"] == []


async def test_operators_are_refused_like_any_forbidden_action(
    client: httpx.AsyncClient, shop: Shop
) -> None:
    headers = await login(client, shop.operator)
    for path in ("/api/reports/summary", "/api/reports/volume", "/api/reports/conversations.csv"):
        response = await client.get(path, params=WEEK, headers=headers)
        assert response.status_code == 403, path
        assert response.json()["error"]["code"] == "forbidden"
    assert (await client.get("/api/reports/summary")).status_code == 401


@pytest.mark.parametrize(
    ("params", "field", "message"),
    [
        ({"from": "2026-13-01"}, "from", "data inválida: use o formato AAAA-MM-DD"),
        ({"to": "07/03/2026"}, "to", "data inválida: use o formato AAAA-MM-DD"),
        (
            {"from": "2026-03-08", "to": "2026-03-07"},
            "from",
            "a data inicial não pode ser depois da final",
        ),
        (
            {"from": "2025-03-01", "to": "2026-03-02"},
            "to",
            "o período pode ter no máximo 366 dias",
        ),
    ],
)
async def test_bad_dates_and_too_long_periods_are_422_with_a_clear_message(
    client: httpx.AsyncClient,
    factory: Factory,
    params: dict[str, str],
    field: str,
    message: str,
) -> None:
    supervisor = await factory.user(await factory.company(), Role.SUPERVISOR)
    headers = await login(client, supervisor)
    for path in ("/api/reports/summary", "/api/reports/volume", "/api/reports/conversations.csv"):
        response = await client.get(path, params=params, headers=headers)
        assert response.status_code == 422, response.text
        error = response.json()["error"]
        assert (error["code"], error["message"]) == ("validation_failed", message)
        assert error["fields"] == [{"field": field, "message": message}]


async def test_a_full_year_of_366_days_is_allowed(client: httpx.AsyncClient, shop: Shop) -> None:
    body = await summary(
        client, await login(client, shop.supervisor), **{"from": "2025-03-02", "to": "2026-03-02"}
    )
    assert body["cycles_started"] == 2  # the 28th of February and the 2nd of March


async def test_without_dates_the_period_is_the_last_seven_days_including_today(
    client: httpx.AsyncClient, db: Database, shop: Shop
) -> None:
    now = datetime.now(UTC)
    today = now.astimezone(BRT).date()
    async with db.service_session() as session:
        writer = Writer(session, shop.company_id)
        await writer.cycle(
            shop.conversations["c1"], now - timedelta(minutes=1), reply_after=30, closed_after=60
        )
        await writer.message(shop.conversations["c1"], now - timedelta(minutes=1), from_me=False)
    body = await summary(client, await login(client, shop.supervisor))
    assert body["period"]["to"] == today.isoformat()
    assert body["period"]["from"] == (today - timedelta(days=6)).isoformat()
    assert (body["cycles_started"], body["cycles_closed"], body["messages_inbound"]) == (1, 1, 1)
    assert body["first_response"]["median_seconds"] == 30.0


async def test_automatic_messages_are_not_counted_as_the_services_messages(
    client: httpx.AsyncClient, db: Database, shop: Shop
) -> None:
    """A campaign's hundreds of messages are counted on the campaign, and out-of-office
    replies are nobody's work: neither is in the service's volume (nor anyone's reply: they
    have no sender)."""
    headers = await login(client, shop.supervisor)
    week = {"from": "2026-03-01", "to": "2026-03-07"}
    before = await summary(client, headers, **week)
    async with db.service_session() as session:
        writer = Writer(session, shop.company_id)
        for minute in range(3):
            await writer.message(
                shop.conversations["c4"],
                brt(6, 10, minute),
                from_me=True,
                status="DELIVERY_ACK",
                payload={"campaign_id": "6f1c0a52-8d7e-4d5b-9a52-3c4b5d6e7f80"},
            )
        await writer.message(
            shop.conversations["c4"],
            brt(6, 23),
            from_me=True,
            status="DELIVERY_ACK",
            payload={"away_reply": True},
        )
    after = await summary(client, headers, **week)
    assert after["messages_outbound"] == before["messages_outbound"] == 5


async def test_a_transfer_leaves_past_cycles_with_the_agent_who_held_them(
    client: httpx.AsyncClient, db: Database, factory: Factory
) -> None:
    company = await factory.company()
    ana = await named_user(db, factory, company, "Ana")
    bruno = await named_user(db, factory, company, "Bruno")
    async with db.service_session() as session:
        write = Writer(session, company)
        chat = await write.conversation(await write.instance("loja"), ana)
        await write.cycle(chat, brt(2, 9), reply_after=60, closed_after=600, closed_by=ana)
        await session.execute(
            text("update evolution_conversations set assignee_id = :b where id = :c"),
            {"b": bruno.id, "c": chat},
        )
        await write.cycle(chat, brt(4, 9), reply_after=120)  # the customer is back, Bruno has it
    headers = await login(client, await factory.user(company, Role.SUPERVISOR))
    body = await summary(client, headers, **WEEK)
    assert agents(body) == [("Ana", 1, 1, 0, 60.0), ("Bruno", 1, 0, 0, 120.0)]
    only_ana = await summary(client, headers, agent_id=str(ana.id), **WEEK)
    assert (only_ana["cycles_started"], only_ana["first_response"]["median_seconds"]) == (1, 60.0)
    # Handed back while the cycle is open: the open cycle goes with the chat.
    async with db.service_session() as session:
        await session.execute(
            text("update evolution_conversations set assignee_id = :a where id = :c"),
            {"a": ana.id, "c": chat},
        )
    body = await summary(client, headers, **WEEK)
    assert agents(body) == [("Ana", 2, 1, 0, 90.0)]
