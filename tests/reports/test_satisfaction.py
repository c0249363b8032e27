"""The satisfaction survey in the reports: questions sent, answers, response rate, mean grade,
CSAT (answers of 4 or 5) and the grades 1-5, in the summary, per agent, per department and in
the CSV, counted in the period the question was sent (at the close of the cycle it rates).

The seeded week (tests/reports/helpers.py, seed_ratings), asked at each close:
  Bruno's cycle of c2 closed on the 1st (started on the 28th): 5
  Ana's cycles of c1 closed on the 2nd and the 3rd: 4 and 2
  Bruno's cycle of c2 closed on the 4th: asked, never answered
-> 4 sent, 3 answered (75%), mean 11/3, CSAT 2/3; Ana 2/2 answered, mean 3, CSAT 50%;
   Bruno 1/2 answered, mean 5, CSAT 100%.
"""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from tests.conftest import Factory, login
from tests.reports.helpers import (
    WEEK,
    Shop,
    Writer,
    brt,
    named_user,
    seed_departments,
    seed_ratings,
)
from tests.reports.test_export import download
from tests.reports.test_summary import summary
from tests.surveys.test_survey import company_with_survey, serve_and_close, writes
from zapcrm.db import Database
from zapcrm.reports.export import HEADER

NO_SURVEY = {
    "surveys_sent": 0,
    "surveys_answered": 0,
    "response_rate_percent": None,
    "average_rating": None,
    "csat_percent": None,
}


def ratings(stats: dict[str, Any]) -> dict[str, Any]:
    """A `satisfaction` object without its grades (those of a row have none)."""
    return {key: value for key, value in stats.items() if key != "grades"}


def grades(body: dict[str, Any]) -> list[int]:
    """The answers per grade, 1 to 5."""
    counted = body["satisfaction"]["grades"]
    assert [row["grade"] for row in counted] == [1, 2, 3, 4, 5]
    return [row["count"] for row in counted]


def by_name(body: dict[str, Any], rows: str) -> dict[str | None, dict[str, Any]]:
    """The `satisfaction` of each agent's or department's row, by its name."""
    return {row["name"]: row["satisfaction"] for row in body[rows]}


async def test_a_weeks_ratings_give_the_rate_mean_csat_grades_and_each_agents_share(
    client: httpx.AsyncClient, db: Database, shop: Shop
) -> None:
    await seed_ratings(db, shop)
    body = await summary(client, await login(client, shop.supervisor), **WEEK)
    assert ratings(body["satisfaction"]) == {
        "surveys_sent": 4,
        "surveys_answered": 3,
        "response_rate_percent": 75.0,
        "average_rating": pytest.approx(11 / 3),
        "csat_percent": pytest.approx(200 / 3),  # the 4 and the 5 of three answers
    }
    assert grades(body) == [0, 1, 0, 1, 1]
    # Each rating goes to the agent who held the cycle, like its first response.
    assert by_name(body, "agents") == {
        "Ana Atendente": {
            "surveys_sent": 2,
            "surveys_answered": 2,
            "response_rate_percent": 100.0,
            "average_rating": 3.0,
            "csat_percent": 50.0,
        },
        "Bruno Atendente": {
            "surveys_sent": 2,
            "surveys_answered": 1,
            "response_rate_percent": 50.0,
            "average_rating": 5.0,
            "csat_percent": 100.0,
        },
    }
    # The other figures are the week's as before (tests/reports/test_summary.py).
    assert (body["cycles_started"], body["cycles_closed"], body["cycles_open"]) == (5, 4, 2)


async def test_without_a_survey_the_figures_are_zeros_and_nulls_not_a_division_by_zero(
    client: httpx.AsyncClient, shop: Shop
) -> None:
    body = await summary(client, await login(client, shop.supervisor), **WEEK)
    assert ratings(body["satisfaction"]) == NO_SURVEY
    assert grades(body) == [0, 0, 0, 0, 0]
    assert {row["name"]: row["satisfaction"] for row in body["agents"]} == {
        "Ana Atendente": NO_SURVEY,
        "Bruno Atendente": NO_SURVEY,
    }


async def test_each_department_has_the_survey_of_its_chats_and_the_filter_narrows_it(
    client: httpx.AsyncClient, db: Database, shop: Shop
) -> None:
    await seed_ratings(db, shop)
    vendas, suporte, _ = await seed_departments(db, shop)
    headers = await login(client, shop.supervisor)
    body = await summary(client, headers, **WEEK)
    rows = by_name(body, "departments")
    # Every rated cycle is in c1 or c2, both in Vendas: its row is the totals.
    assert rows["Vendas"] == ratings(body["satisfaction"])
    assert rows["Suporte"] == rows["Financeiro"] == rows[None] == NO_SURVEY
    assert sum(row["surveys_answered"] for row in rows.values()) == 3

    narrowed = await summary(client, headers, department_id=str(vendas), **WEEK)
    assert ratings(narrowed["satisfaction"]) == ratings(body["satisfaction"])
    support = await summary(client, headers, department_id=str(suporte), **WEEK)
    assert ratings(support["satisfaction"]) == NO_SURVEY
    assert grades(support) == [0, 0, 0, 0, 0]


async def test_the_agent_and_number_filters_narrow_the_survey(
    client: httpx.AsyncClient, db: Database, shop: Shop
) -> None:
    await seed_ratings(db, shop)
    headers = await login(client, shop.supervisor)
    bruno = await summary(client, headers, agent_id=str(shop.bruno.id), **WEEK)
    assert ratings(bruno["satisfaction"]) == {
        "surveys_sent": 2,
        "surveys_answered": 1,
        "response_rate_percent": 50.0,
        "average_rating": 5.0,
        "csat_percent": 100.0,
    }
    assert grades(bruno) == [0, 0, 0, 0, 1]
    assert list(by_name(bruno, "agents")) == ["Bruno Atendente"]
    filial = await summary(client, headers, instance_id=str(shop.filial), **WEEK)
    assert ratings(filial["satisfaction"]) == NO_SURVEY  # c3 and c4: nobody asked
    loja = await summary(client, headers, instance_id=str(shop.loja), **WEEK)
    assert ratings(loja["satisfaction"])["surveys_answered"] == 3


async def test_a_rating_counts_in_the_period_its_question_was_sent_at_the_close(
    client: httpx.AsyncClient, db: Database, shop: Shop
) -> None:
    """Not when the cycle started nor when the customer answered: the rating belongs to the
    service it rates, closed (and asked about) in that period."""
    await seed_ratings(db, shop)
    c3 = shop.conversations["c3"]
    async with db.service_session() as session:
        # Ana's cycle of 23:30 on the 7th is closed and asked at 23:50, answered (3) at 00:05
        # on the 8th.
        await session.execute(
            text("update conversation_cycles set closed_at = :at where conversation_id = :c"),
            {"at": brt(7, 23, 50), "c": c3},
        )
        await Writer(session, shop.company_id).ask(c3, brt(7, 23, 30), 3, answered_after=900)
    headers = await login(client, shop.supervisor)

    last_day = await summary(client, headers, **{"from": "2026-03-07", "to": "2026-03-07"})
    assert ratings(last_day["satisfaction"])["surveys_answered"] == 1
    assert grades(last_day) == [0, 0, 1, 0, 0]
    next_day = await summary(client, headers, **{"from": "2026-03-08", "to": "2026-03-08"})
    assert ratings(next_day["satisfaction"]) == NO_SURVEY
    # Started on the 28th, closed and asked on the 1st: the 1st's, where its resolution is.
    first_day = await summary(client, headers, **{"from": "2026-03-01", "to": "2026-03-01"})
    assert first_day["cycles_started"] == 0
    assert (first_day["cycles_closed"], grades(first_day)) == (1, [0, 0, 0, 0, 1])
    # Asked on the 4th and not answered: a question sent, no answer, nothing to average.
    fourth = await summary(client, headers, **{"from": "2026-03-04", "to": "2026-03-04"})
    assert ratings(fourth["satisfaction"]) == {
        "surveys_sent": 1,
        "surveys_answered": 0,
        "response_rate_percent": 0.0,
        "average_rating": None,
        "csat_percent": None,
    }
    week = await summary(client, headers, **WEEK)
    assert ratings(week["satisfaction"])["surveys_sent"] == 5


async def test_an_agent_whose_only_part_in_the_period_is_a_rated_cycle_has_a_row(
    client: httpx.AsyncClient, db: Database, factory: Factory, shop: Shop
) -> None:
    """Carla served a chat that started before the week; a supervisor closed it in the week,
    where its customer gave it a 3: her row says so, though she neither started, closed nor
    sent anything in the week."""
    carla = await named_user(db, factory, shop.company_id, "Carla Atendente")
    async with db.service_session() as session:
        w = Writer(session, shop.company_id)
        chat = await w.conversation(shop.loja, carla, name="Gabi", phone="+5511911110009")
        started = brt(27, 10, month=2)
        await w.cycle(chat, started, reply_after=60, closed_after=4 * 86400, closed_by=shop.ana)
        await w.ask(chat, started, 3)
    body = await summary(client, await login(client, shop.supervisor), **WEEK)
    [row] = [row for row in body["agents"] if row["name"] == "Carla Atendente"]
    assert (row["conversations_handled"], row["cycles_closed"], row["messages_sent"]) == (0, 0, 0)
    assert (row["satisfaction"]["surveys_answered"], row["satisfaction"]["average_rating"]) == (
        1,
        3.0,
    )


async def test_the_csv_ends_with_each_cycles_grade(
    client: httpx.AsyncClient, db: Database, shop: Shop
) -> None:
    await seed_ratings(db, shop)
    headers = await login(client, shop.supervisor)
    records = await download(client, headers, **WEEK)
    assert records[0] == list(HEADER)
    assert records[0][-2:] == ["Setor", "Avaliação"]
    c1, c2, c3, c4 = (str(shop.conversations[key]) for key in ("c1", "c2", "c3", "c4"))
    # Asked and unanswered, or never asked: empty, not a zero.
    assert [(row[0], row[-1]) for row in records[1:]] == [
        (c2, "5"),
        (c1, "4"),
        (c1, "2"),
        (c2, ""),
        (c4, ""),
        (c3, ""),
    ]
    only_ana = await download(client, headers, agent_id=str(shop.ana.id), **WEEK)
    assert [row[-1] for row in only_ana[1:]] == ["4", "2", ""]


async def test_a_grade_given_over_whatsapp_reaches_the_report(
    client: httpx.AsyncClient, db: Database, factory: Factory
) -> None:
    """End to end: a person serves and closes the chat, the customer answers "4" on WhatsApp,
    and this week's report counts one question, one answer, mean 4, CSAT 100%."""
    instance, admin = await company_with_survey(client, db, factory)
    await serve_and_close(client, db, instance, admin)
    before = await summary(client, admin)
    assert ratings(before["satisfaction"])["surveys_sent"] == 1
    assert ratings(before["satisfaction"])["surveys_answered"] == 0
    await writes(client, instance, "4", key_id=f"IN-{uuid.uuid4().hex[:8]}")
    after = await summary(client, admin)
    assert ratings(after["satisfaction"]) == {
        "surveys_sent": 1,
        "surveys_answered": 1,
        "response_rate_percent": 100.0,
        "average_rating": 4.0,
        "csat_percent": 100.0,
    }
    assert grades(after) == [0, 0, 0, 1, 0]
