"""Times in business hours (`business_hours=true`): a wait counts only the hours the company is
open (its saved hours, or the default ones), weekends, nights and holidays left out, in the
summary, the per-agent and per-department rows, reply times, the CSV and the panel."""

from __future__ import annotations

import uuid
from datetime import datetime, time
from typing import Any

import httpx
import orjson
import pytest
from sqlalchemy import text

from tests.conftest import Factory, login
from tests.reports.helpers import BRT, Writer, brt, named_user
from tests.reports.test_export import download
from tests.reports.test_summary import summary
from tests.web.conftest import Browser, panel_login
from zapcrm.db import Database
from zapcrm.hours.schedule import Schedule
from zapcrm.models import Role
from zapcrm.reports.export import BUSINESS_HOURS_HEADER, HEADER
from zapcrm.web.i18n import use_locale
from zapcrm.web.reports_view import opening_summary

# Monday to Friday 08:00-18:00; weekends closed.
WEEKDAYS = {str(day): {"opens": "08:00:00", "closes": "18:00:00"} for day in range(1, 6)}
# The same, as app.business_seconds takes them: by ISO weekday, 1 to 7.
OPENS = "{08:00,08:00,08:00,08:00,08:00,NULL,NULL}"
CLOSES = "{18:00,18:00,18:00,18:00,18:00,NULL,NULL}"
NO_BREAKS = "{NULL,NULL,NULL,NULL,NULL,NULL,NULL}"
# Lunch from 12:00 to 13:00 on Mondays only.
MONDAY_LUNCH = ("{12:00,NULL,NULL,NULL,NULL,NULL,NULL}", "{13:00,NULL,NULL,NULL,NULL,NULL,NULL}")
# The reported days, up to the Monday the chat of `_weekend_shop` was answered and closed on.
PERIOD = {"from": "2026-03-01", "to": "2026-03-09"}


def moment(day: int, hour: int, minute: int = 0) -> datetime:
    """A moment of March 2026 in São Paulo (the 6th is a Friday, the 9th a Monday)."""
    return datetime(2026, 3, day, hour, minute, tzinfo=BRT)


async def _business_seconds(
    db: Database,
    since: datetime,
    until: datetime | None,
    *,
    breaks: tuple[str, str] = (NO_BREAKS, NO_BREAKS),
    holidays: tuple[str, ...] = (),
) -> float | None:
    """app.business_seconds over the weekday hours (08:00-18:00) in São Paulo."""
    async with db.service_session() as session:
        counted: float | None = await session.scalar(
            text(
                "select app.business_seconds(:since, :until, cast(:opens as time[]),"
                " cast(:closes as time[]), cast(:breaks_from as time[]),"
                " cast(:breaks_until as time[]), cast(:holidays as date[]), 'America/Sao_Paulo')"
            ),
            {
                "since": since,
                "until": until,
                "opens": OPENS,
                "closes": CLOSES,
                "breaks_from": breaks[0],
                "breaks_until": breaks[1],
                "holidays": "{" + ",".join(holidays) + "}",
            },
        )
    return counted


@pytest.mark.parametrize(
    ("since", "until", "holidays", "seconds"),
    [
        # Inside one day's hours: all of it.
        (moment(6, 10), moment(6, 10, 30), [], 1800),
        # Friday 17:50 -> Monday 08:10: ten minutes each side of the weekend.
        (moment(6, 17, 50), moment(9, 8, 10), [], 1200),
        # Written at night, answered before opening: none of the team's time.
        (moment(9, 22), moment(10, 7, 59), [], 0),
        # Before opening -> after closing: the whole day's hours.
        (moment(9, 6), moment(9, 20), [], 36000),
        # A holiday on the Monday: the ten minutes of Tuesday only, plus Friday's.
        (moment(6, 17, 50), moment(10, 8, 10), ["2026-03-09"], 1200),
        # Backwards (clock skew between a phone and the server): nothing, never negative.
        (moment(9, 11), moment(9, 10), [], 0),
    ],
)
async def test_business_seconds_counts_only_the_opening_hours(
    db: Database, since: datetime, until: datetime, holidays: list[str], seconds: float
) -> None:
    assert await _business_seconds(db, since, until, holidays=tuple(holidays)) == seconds


@pytest.mark.parametrize(
    ("since", "until", "seconds"),
    [
        # Monday 11:00 -> 14:00 with lunch from 12:00 to 13:00: two hours of work.
        (moment(9, 11), moment(9, 14), 7200),
        # Written and answered during lunch: none.
        (moment(9, 12, 10), moment(9, 12, 50), 0),
        # Written during lunch, answered at 13:05: five minutes.
        (moment(9, 12, 30), moment(9, 13, 5), 300),
        # Tuesday has no break: all of it.
        (moment(10, 11), moment(10, 14), 10800),
    ],
)
async def test_a_break_in_the_day_is_not_business_time(
    db: Database, since: datetime, until: datetime, seconds: float
) -> None:
    assert await _business_seconds(db, since, until, breaks=MONDAY_LUNCH) == seconds


async def test_an_unanswered_wait_has_no_business_time(db: Database) -> None:
    assert await _business_seconds(db, datetime.now(BRT), None) is None


async def _save_hours(session: Any, company: uuid.UUID, schedule: dict[str, Any]) -> None:
    """Store the company's opening hours as the hours page would."""
    await session.execute(
        text(
            "insert into business_hours (company_id, schedule) values"
            " (:company, cast(:schedule as jsonb))"
        ),
        {"company": company, "schedule": orjson.dumps(schedule).decode()},
    )


async def _weekend_shop(db: Database, factory: Factory) -> tuple[uuid.UUID, uuid.UUID]:
    """A company open on weekdays 08-18 whose agent Ana answered, on Monday at 08:10, a chat
    that started on Friday at 17:50 and closed it at 09:00 (in a department: Vendas)."""
    company = await factory.company()
    ana = await named_user(db, factory, company, "Ana")
    async with db.service_session() as session:
        await _save_hours(session, company, WEEKDAYS)
        write = Writer(session, company)
        chat = await write.conversation(await write.instance("loja"), ana)
        await write.cycle(chat, brt(6, 17, 50), reply_after=224400, closed_after=227400)
        sales = await write.department("Vendas", 1)
        await write.route(chat, sales)
        await write.message(chat, brt(6, 17, 50), from_me=False)
        await write.message(chat, brt(9, 8, 10), from_me=True, sent_by=ana, status="READ")
    return company, sales


async def test_the_summary_counts_first_response_resolution_and_reply_in_business_hours(
    client: httpx.AsyncClient, db: Database, factory: Factory
) -> None:
    company, sales = await _weekend_shop(db, factory)
    headers = await login(client, await factory.user(company, Role.SUPERVISOR))

    clock = await summary(client, headers, **PERIOD)
    assert clock["period"]["business_hours"] is False
    assert clock["first_response"]["median_seconds"] == 224400.0  # 2 d 14 h 20 min
    assert clock["reply"]["median_seconds"] == 224400.0

    hours = await summary(client, headers, **PERIOD, business_hours="true")
    assert hours["period"]["business_hours"] is True
    stats = {"count": 1, "mean_seconds": 1200.0, "median_seconds": 1200.0, "p90_seconds": 1200.0}
    assert hours["first_response"] == stats
    # Closed on Monday at 09:00: 10 minutes on Friday and 60 on Monday.
    assert hours["resolution"]["median_seconds"] == 4200.0
    assert hours["reply"] == stats
    [agent] = hours["agents"]
    assert (agent["name"], agent["median_first_response_seconds"]) == ("Ana", 1200.0)
    assert agent["median_reply_seconds"] == 1200.0
    [department] = [row for row in hours["departments"] if row["department_id"] == str(sales)]
    assert department["median_first_response_seconds"] == 1200.0
    assert department["median_resolution_seconds"] == 4200.0
    assert department["median_reply_seconds"] == 1200.0


async def test_without_saved_hours_the_default_ones_count_saturday_morning(
    client: httpx.AsyncClient, db: Database, factory: Factory
) -> None:
    company = await factory.company()
    ana = await named_user(db, factory, company, "Ana")
    async with db.service_session() as session:
        write = Writer(session, company)
        chat = await write.conversation(await write.instance("loja"), ana)
        # Saturday 11:00 -> Monday 08:30: an hour of Saturday (open 08-12 by default) and
        # half an hour of Monday.
        await write.cycle(chat, brt(7, 11), reply_after=163800)
    headers = await login(client, await factory.user(company, Role.SUPERVISOR))
    body = await summary(client, headers, **PERIOD, business_hours="true")
    assert body["first_response"]["median_seconds"] == 5400.0


async def test_the_csv_says_its_durations_are_in_business_hours(
    client: httpx.AsyncClient, db: Database, factory: Factory
) -> None:
    company, _ = await _weekend_shop(db, factory)
    headers = await login(client, await factory.user(company, Role.SUPERVISOR))
    header, row = await download(client, headers, **PERIOD, business_hours="true")
    assert header == list(BUSINESS_HOURS_HEADER)
    assert header[8] == "Tempo até a primeira resposta (s, em horário de atendimento)"
    assert row[8:10] == ["1200", "4200"]
    header, row = await download(client, headers, **PERIOD)
    assert (header, row[8:10]) == (list(HEADER), ["224400", "227400"])


async def test_the_panel_offers_business_hours_and_keeps_them_in_the_csv_link(
    new_browser: Browser, db: Database, factory: Factory
) -> None:
    company, _ = await _weekend_shop(db, factory)
    http = await new_browser()
    await panel_login(http, await factory.user(company, Role.SUPERVISOR))

    page = (await http.get("/panel/reports", params=PERIOD)).text
    assert '<input type="checkbox" name="business_hours" value="1">' in page
    assert "<dt>Mediana</dt><dd>2 d 14 h</dd>" in page

    response = await http.get("/panel/reports", params={**PERIOD, "business_hours": "1"})
    assert response.status_code == 200
    page = response.text
    assert '<input type="checkbox" name="business_hours" value="1" checked>' in page
    assert "Os tempos contam só o horário de atendimento" in page
    assert '<span data-testid="opening-hours">(seg.–sex. 08:00–18:00)</span>' in page
    assert "<dt>Mediana</dt><dd>20 min</dd>" in page
    assert "2 d 14 h" not in page
    assert "conversations.csv?from=2026-03-01&amp;to=2026-03-09&amp;business_hours=1" in page
    csv = await http.get(
        "/panel/reports/conversations.csv", params={**PERIOD, "business_hours": "1"}
    )
    assert "(s, em horário de atendimento)" in csv.content.decode()


async def test_the_saved_lunch_break_is_left_out_of_the_reports_times(
    client: httpx.AsyncClient, db: Database, factory: Factory
) -> None:
    company = await factory.company()
    ana = await named_user(db, factory, company, "Ana")
    lunch = {**WEEKDAYS, "1": {**WEEKDAYS["1"], "break_from": "12:00", "break_until": "13:00"}}
    async with db.service_session() as session:
        await _save_hours(session, company, lunch)
        write = Writer(session, company)
        chat = await write.conversation(await write.instance("loja"), ana)
        # Monday 11:50, answered at 13:10: ten minutes before lunch and ten after.
        await write.cycle(chat, brt(9, 11, 50), reply_after=4800)
    headers = await login(client, await factory.user(company, Role.SUPERVISOR))
    body = await summary(client, headers, **PERIOD, business_hours="true")
    assert body["first_response"]["median_seconds"] == 1200.0


def test_the_weeks_hours_read_in_a_line_with_equal_days_run_together() -> None:
    lunch = (time(12), time(13))
    schedule = Schedule(
        days={**{day: (time(8), time(18)) for day in range(1, 6)}, 6: (time(8), time(12))},
        zone=BRT,
        breaks={day: lunch for day in range(1, 5)},
    )
    with use_locale("pt_BR"):
        assert opening_summary(schedule) == (
            "seg.–qui. 08:00–12:00 e 13:00–18:00; sex. 08:00–18:00; sáb. 08:00–12:00"
        )
    with use_locale("en"):
        assert opening_summary(schedule).startswith("Mon–Thu 08:00–12:00 and 13:00–18:00;")
    assert opening_summary(Schedule(days={}, zone=BRT)) == ""
