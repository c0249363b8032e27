"""Reports by department: the `department_id` narrowing of the summary, the volume and the CSV,
and the summary's per-department rows (every department in menu order, then the chats in none).

The seeded week (tests/reports/helpers.py) with Vendas (c1, c2), Suporte (c3), a quiet
Financeiro, and c4 in no department:
  Vendas: cycles started on the 2nd, 3rd, 4th (first response 60, 120, 300 s -> median 120);
    closed on the 1st to 4th (resolution 39600, 600, 1200, 3600 s -> median 2400); waits of
    60, 120 and 300 s -> median 120
  Suporte: the cycle of the 7th, answered in 600 s, still open
  no department: the cycle of the 5th, never answered in the panel, the phone's reply in 3600 s
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import text

from tests.conftest import Factory, login
from tests.reports.helpers import WEEK, Shop, Writer, seed_departments, seed_shop
from tests.reports.test_export import download
from tests.reports.test_summary import agents, summary
from tests.reports.test_volume import busy_hours, columns, volume
from zapcrm.db import Database
from zapcrm.reports.export import HEADER


def departments(body: dict[str, Any]) -> list[tuple[Any, ...]]:
    """The per-department rows as tuples (name, handled, closed, median first response,
    median resolution, median reply)."""
    return [
        (
            row["name"],
            row["conversations_handled"],
            row["cycles_closed"],
            row["median_first_response_seconds"],
            row["median_resolution_seconds"],
            row["median_reply_seconds"],
        )
        for row in body["departments"]
    ]


async def test_every_department_in_menu_order_then_the_chats_in_none(
    client: httpx.AsyncClient, db: Database, shop: Shop
) -> None:
    vendas, suporte, financeiro = await seed_departments(db, shop)
    body = await summary(client, await login(client, shop.supervisor), **WEEK)
    assert departments(body) == [
        ("Vendas", 3, 4, 120.0, 2400.0, 120.0),
        ("Suporte", 1, 0, 600.0, None, 600.0),
        ("Financeiro", 0, 0, None, None, None),  # quiet, still listed
        (None, 1, 0, None, None, 3600.0),  # no department
    ]
    assert [row["department_id"] for row in body["departments"]] == [
        str(vendas),
        str(suporte),
        str(financeiro),
        None,
    ]
    # The rows add up to the totals: the same definitions, over the same cycles.
    assert sum(row["conversations_handled"] for row in body["departments"]) == 5
    assert sum(row["cycles_closed"] for row in body["departments"]) == body["cycles_closed"]


async def test_a_company_without_departments_has_only_the_row_of_chats_in_none(
    client: httpx.AsyncClient, shop: Shop
) -> None:
    body = await summary(client, await login(client, shop.supervisor), **WEEK)
    # Equal to the totals: every chat is in none.
    assert departments(body) == [(None, 5, 4, 210.0, 2400.0, 300.0)]
    assert body["first_response"]["median_seconds"] == 210.0
    assert body["reply"]["median_seconds"] == 300.0


async def test_the_department_filter_narrows_the_summary_its_agents_and_its_rows(
    client: httpx.AsyncClient, db: Database, shop: Shop
) -> None:
    vendas, suporte, _ = await seed_departments(db, shop)
    headers = await login(client, shop.supervisor)
    body = await summary(client, headers, department_id=str(vendas), **WEEK)
    assert (body["cycles_started"], body["cycles_closed"], body["cycles_open"]) == (3, 4, 0)
    assert body["first_response"] == {
        "count": 3,
        "mean_seconds": 160.0,
        "median_seconds": 120.0,
        "p90_seconds": pytest.approx(264.0),
    }
    assert (body["resolution"]["count"], body["resolution"]["median_seconds"]) == (4, 2400.0)
    assert (body["reply"]["count"], body["reply"]["median_seconds"]) == (3, 120.0)
    assert (body["messages_inbound"], body["messages_outbound"]) == (3, 3)
    assert agents(body) == [
        ("Ana Atendente", 2, 2, 2, 90.0),
        ("Bruno Atendente", 1, 2, 1, 300.0),
    ]
    # Only the chosen department's row: the others (and "none") are outside the report.
    assert departments(body) == [("Vendas", 3, 4, 120.0, 2400.0, 120.0)]

    support = await summary(client, headers, department_id=str(suporte), **WEEK)
    assert (support["cycles_started"], support["cycles_open"]) == (1, 1)
    assert (support["messages_inbound"], support["messages_outbound"]) == (1, 1)
    assert agents(support) == [("Ana Atendente", 1, 0, 1, 600.0)]
    # With another narrowing, every department stays, each narrowed the same way.
    by_number = await summary(client, headers, instance_id=str(shop.filial), **WEEK)
    assert departments(by_number) == [
        ("Vendas", 0, 0, None, None, None),
        ("Suporte", 1, 0, 600.0, None, 600.0),
        ("Financeiro", 0, 0, None, None, None),
        (None, 1, 0, None, None, 3600.0),
    ]


async def test_a_chat_counts_in_the_department_it_is_in_now_with_its_past_cycles(
    client: httpx.AsyncClient, db: Database, shop: Shop
) -> None:
    _, suporte, _ = await seed_departments(db, shop)
    async with db.service_session() as session:
        await Writer(session, shop.company_id).route(shop.conversations["c2"], suporte)
    headers = await login(client, shop.supervisor)
    body = await summary(client, headers, **WEEK)
    assert departments(body)[:2] == [
        ("Vendas", 2, 2, 90.0, 900.0, 90.0),
        ("Suporte", 2, 2, 450.0, 21600.0, 450.0),
    ]


async def test_the_department_filter_narrows_the_days_and_the_hours(
    client: httpx.AsyncClient, db: Database, shop: Shop
) -> None:
    vendas, _, financeiro = await seed_departments(db, shop)
    headers = await login(client, shop.supervisor)
    body = await volume(client, headers, department_id=str(vendas), **WEEK)
    assert columns(body) == {
        "cycles_started": [0, 1, 1, 1, 0, 0, 0],
        "cycles_closed": [1, 1, 1, 1, 0, 0, 0],
        "messages_inbound": [0, 1, 1, 1, 0, 0, 0],
        "messages_outbound": [0, 1, 1, 1, 0, 0, 0],
    }
    assert busy_hours(body) == {(1, 9): 1, (2, 10): 1, (3, 11): 1}
    quiet = await volume(client, headers, department_id=str(financeiro), **WEEK)
    assert all(not any(counts) for counts in columns(quiet).values())
    assert busy_hours(quiet) == {}


async def test_the_csv_names_each_chats_department_and_takes_the_filter(
    client: httpx.AsyncClient, db: Database, shop: Shop
) -> None:
    vendas, _, _ = await seed_departments(db, shop)
    headers = await login(client, shop.supervisor)
    records = await download(client, headers, **WEEK)
    assert records[0] == list(HEADER)
    setor = HEADER.index("Setor")
    assert setor == 10  # after the columns that came before it
    c1, c2, c3, c4 = (str(shop.conversations[key]) for key in ("c1", "c2", "c3", "c4"))
    assert [(row[0], row[setor]) for row in records[1:]] == [
        (c2, "Vendas"),
        (c1, "Vendas"),
        (c1, "Vendas"),
        (c2, "Vendas"),
        (c4, ""),
        (c3, "Suporte"),
    ]
    only = await download(client, headers, department_id=str(vendas), **WEEK)
    assert [row[0] for row in only[1:]] == [c2, c1, c1, c2]


async def test_a_department_named_like_a_formula_is_neutralised_in_the_csv(
    client: httpx.AsyncClient, db: Database, shop: Shop
) -> None:
    await seed_departments(db, shop, ("=1+1", "Suporte", "Financeiro"))
    records = await download(client, await login(client, shop.supervisor), **WEEK)
    assert records[2][HEADER.index("Setor")] == "'=1+1"


async def test_another_companys_department_finds_nothing(
    client: httpx.AsyncClient, db: Database, factory: Factory, shop: Shop
) -> None:
    await seed_departments(db, shop)
    other = await seed_shop(db, factory)
    foreign, _, _ = await seed_departments(db, other)
    headers = await login(client, shop.supervisor)
    body = await summary(client, headers, department_id=str(foreign), **WEEK)
    assert (body["cycles_started"], body["cycles_closed"], body["messages_inbound"]) == (0, 0, 0)
    assert body["reply"]["count"] == 0
    assert (body["agents"], body["departments"]) == ([], [])
    days = await volume(client, headers, department_id=str(foreign), **WEEK)
    assert all(not any(counts) for counts in columns(days).values())
    assert busy_hours(days) == {}
    assert await download(client, headers, department_id=str(foreign), **WEEK) == [list(HEADER)]
    # Nor do its names show up in our own rows.
    ours = await summary(client, headers, **WEEK)
    assert foreign not in {row["department_id"] for row in ours["departments"]}
    assert len(ours["departments"]) == 4


@pytest.mark.parametrize("value", ["setor-1", "123", "9185a09f-a443-4aaf-93b1-03c37ddd7a7"])
async def test_a_malformed_department_id_is_a_422_like_the_other_ids(
    client: httpx.AsyncClient, shop: Shop, value: str
) -> None:
    headers = await login(client, shop.supervisor)
    for path in ("/api/reports/summary", "/api/reports/volume", "/api/reports/conversations.csv"):
        response = await client.get(path, params={"department_id": value}, headers=headers)
        assert response.status_code == 422, (path, response.text)
        error = response.json()["error"]
        assert (error["code"], error["message"]) == ("validation_failed", "dados inválidos")
        assert [field["field"] for field in error["fields"]] == ["query.department_id"]
        # The same answer a malformed number gets.
        same = (await client.get(path, params={"instance_id": value}, headers=headers)).json()
        assert (same["error"]["code"], same["error"]["message"]) == (
            error["code"],
            error["message"],
        )


async def test_a_cycle_stays_in_the_department_it_was_served_in(
    client: httpx.AsyncClient, db: Database, shop: Shop
) -> None:
    _vendas, suporte, financeiro = await seed_departments(db, shop)
    # c1's cycles are all closed in Vendas; c3's cycle is still open in Suporte. Both chats
    # move on, as "Enviar ao setor" moves them (a plain update of the chat: the triggers of
    # migration 0037 do the rest).
    async with db.service_session() as session:
        for chat, department in (("c1", suporte), ("c3", financeiro)):
            await session.execute(
                text("update evolution_conversations set department_id = :d where id = :c"),
                {"d": department, "c": shop.conversations[chat]},
            )
    body = await summary(client, await login(client, shop.supervisor), **WEEK)
    assert departments(body) == [
        ("Vendas", 3, 4, 120.0, 2400.0, 120.0),  # c1's past stays where it was served
        ("Suporte", 0, 0, None, None, None),  # c3's open cycle went along with it
        ("Financeiro", 1, 0, 600.0, None, 600.0),
        (None, 1, 0, None, None, 3600.0),
    ]
