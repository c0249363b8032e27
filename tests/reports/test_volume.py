"""GET /api/reports/volume: each day of a known week and the weekday-hour traffic, read on the
company's clock, narrowed by number and agent, and never another company's.

The seeded week (tests/reports/helpers.py) runs Sunday 2026-03-01 .. Saturday 2026-03-07:
cycles start on the 2nd (Mon 09h), 3rd (Tue 10h), 4th (Wed 11h), 5th (Thu 08h) and 7th
(Sat 23:30), each with a customer message at that moment; four cycles close on the 1st to 4th.
"""

from __future__ import annotations

from typing import Any

import httpx

from tests.conftest import Factory, login
from tests.reports.helpers import WEEK, Shop, seed_shop
from zapcrm.db import Database


async def volume(
    client: httpx.AsyncClient, headers: dict[str, str], **params: str
) -> dict[str, Any]:
    """GET /api/reports/volume, asserting 200."""
    response = await client.get("/api/reports/volume", params=params, headers=headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def columns(body: dict[str, Any]) -> dict[str, list[int]]:
    """Each daily count as one list, oldest day first."""
    keys = ("cycles_started", "cycles_closed", "messages_inbound", "messages_outbound")
    return {key: [day[key] for day in body["days"]] for key in keys}


def busy_hours(body: dict[str, Any]) -> dict[tuple[int, int], int]:
    """The traffic cells that are not zero."""
    return {
        (cell["weekday"], cell["hour"]): cell["messages_inbound"]
        for cell in body["traffic"]
        if cell["messages_inbound"]
    }


async def test_every_day_of_the_week_has_its_counts_and_quiet_days_are_zeros(
    client: httpx.AsyncClient, shop: Shop
) -> None:
    body = await volume(client, await login(client, shop.supervisor), **WEEK)
    assert body["period"] == {
        "from": "2026-03-01",
        "to": "2026-03-07",
        "timezone": "America/Sao_Paulo",
        "business_hours": False,
    }
    assert [day["day"] for day in body["days"]] == [f"2026-03-0{n}" for n in range(1, 8)]
    assert columns(body) == {
        # The cycle started on Feb 28 counts where it closed (the 1st), not where it started.
        "cycles_started": [0, 1, 1, 1, 1, 0, 1],
        "cycles_closed": [1, 1, 1, 1, 0, 0, 0],
        "messages_inbound": [0, 1, 1, 1, 1, 0, 1],
        # Queued and refused sends never left; the reply typed on the phone (the 5th) did.
        "messages_outbound": [0, 1, 1, 1, 1, 0, 1],
    }
    # 23:30 BRT on Saturday is Sunday 02:30 in UTC: it stays on Saturday's 23h.
    assert busy_hours(body) == {(1, 9): 1, (2, 10): 1, (3, 11): 1, (4, 8): 1, (6, 23): 1}
    cells = [(cell["weekday"], cell["hour"]) for cell in body["traffic"]]
    assert cells == [(weekday, hour) for weekday in range(1, 8) for hour in range(24)]


async def test_the_sums_of_the_days_are_the_summarys_figures(
    client: httpx.AsyncClient, shop: Shop
) -> None:
    headers = await login(client, shop.supervisor)
    days = columns(await volume(client, headers, **WEEK))
    response = await client.get("/api/reports/summary", params=WEEK, headers=headers)
    summary = response.json()
    for key in ("cycles_started", "cycles_closed", "messages_inbound", "messages_outbound"):
        assert sum(days[key]) == summary[key], key


async def test_number_and_agent_filters_narrow_the_days_and_the_hours(
    client: httpx.AsyncClient, shop: Shop
) -> None:
    headers = await login(client, shop.supervisor)
    filial = await volume(client, headers, instance_id=str(shop.filial), **WEEK)
    assert columns(filial)["cycles_started"] == [0, 0, 0, 0, 1, 0, 1]
    assert busy_hours(filial) == {(4, 8): 1, (6, 23): 1}
    bruno = await volume(client, headers, agent_id=str(shop.bruno.id), **WEEK)
    assert columns(bruno)["cycles_closed"] == [1, 0, 0, 1, 0, 0, 0]
    assert columns(bruno)["messages_outbound"] == [0, 0, 0, 1, 0, 0, 0]
    assert busy_hours(bruno) == {(3, 11): 1}


async def test_another_companys_days_and_hours_never_appear(
    client: httpx.AsyncClient, db: Database, factory: Factory, shop: Shop
) -> None:
    other = await seed_shop(db, factory)
    headers = await login(client, shop.supervisor)
    assert sum(columns(await volume(client, headers, **WEEK))["messages_inbound"]) == 5
    foreign = await volume(client, headers, instance_id=str(other.loja), **WEEK)
    assert all(not any(counts) for counts in columns(foreign).values())
    assert busy_hours(foreign) == {}


async def test_a_single_day_answers_one_day_and_the_whole_week_grid(
    client: httpx.AsyncClient, shop: Shop
) -> None:
    headers = await login(client, shop.supervisor)
    body = await volume(client, headers, **{"from": "2026-03-07", "to": "2026-03-07"})
    assert [day["day"] for day in body["days"]] == ["2026-03-07"]
    assert len(body["traffic"]) == 168
    assert busy_hours(body) == {(6, 23): 1}
