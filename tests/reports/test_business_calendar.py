"""Reports count business seconds through a calendar joined per moment (migration 0048): on
hundreds of random intervals and opening hours, in zones with and without changes of UTC
offset, it counts what app.business_seconds (0042) counts, to the microsecond."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import DateTime, Integer, column, func, select, values

from zapcrm.db import Database
from zapcrm.hours.schedule import Schedule
from zapcrm.reports.repository.clock import _Clock, _opening_params
from zapcrm.reports.service import period_filters

# Offsets that change in March-April 2026: a northern and a southern spring, a half-hour change
# (Lord Howe), one at midnight (Santiago), and two zones without any.
ZONES = (
    "America/Sao_Paulo",
    "America/New_York",
    "Europe/Lisbon",
    "Australia/Lord_Howe",
    "America/Santiago",
    "Asia/Kolkata",
)
FIRST_DAY, LAST_DAY = date(2026, 3, 1), date(2026, 4, 30)


def _clock_time(rng: random.Random, low: int, high: int) -> time:
    """A wall-clock time between `low` and `high` minutes after midnight."""
    minutes = rng.randrange(low, high)
    return time(minutes // 60, minutes % 60)


def _random_schedule(rng: random.Random, zone: ZoneInfo) -> Schedule:
    """Hours on some weekdays (an opening at midnight now and then), a break on some, a few
    holidays."""
    days: dict[int, tuple[time, time]] = {}
    breaks: dict[int, tuple[time, time]] = {}
    for weekday in range(1, 8):
        if rng.random() < 0.25:
            continue  # closed that weekday
        opens = time(0) if rng.random() < 0.1 else _clock_time(rng, 0, 12 * 60)
        closes = _clock_time(rng, opens.hour * 60 + opens.minute + 30, 24 * 60)
        days[weekday] = (opens, closes)
        start, end = opens.hour * 60 + opens.minute, closes.hour * 60 + closes.minute
        if rng.random() < 0.4 and end - start > 10:
            pause_from = rng.randrange(start + 1, end - 5)
            pause_until = rng.randrange(pause_from + 1, end)
            breaks[weekday] = (
                time(pause_from // 60, pause_from % 60),
                time(pause_until // 60, pause_until % 60),
            )
    holidays = frozenset(
        FIRST_DAY + timedelta(days=rng.randrange(-20, 80)) for _ in range(rng.randrange(4))
    )
    return Schedule(days=days, zone=zone, holidays=holidays, breaks=breaks)


def _random_span(rng: random.Random) -> tuple[datetime, datetime | None]:
    """Mostly minutes to days around the period, microseconds included; some backwards, some
    unanswered, some starting long before the calendar (the fallback)."""
    origin = datetime(2026, 2, 20, tzinfo=UTC)
    since = origin + timedelta(seconds=rng.uniform(0, 75 * 86400))
    if rng.random() < 0.05:
        since -= timedelta(days=500)
    kind = rng.random()
    if kind < 0.05:
        return since, None
    if kind < 0.1:
        return since, since - timedelta(seconds=rng.uniform(0, 7200))
    length = rng.choice((60, 3600, 86400, 4 * 86400, 20 * 86400)) * rng.random()
    return since, since + timedelta(seconds=length)


async def test_the_calendar_counts_what_business_seconds_counts(db: Database) -> None:
    rng = random.Random(48)
    compared = 0
    for round_ in range(24):
        zone = ZoneInfo(ZONES[round_ % len(ZONES)])
        schedule = _random_schedule(rng, zone)
        filters = period_filters(zone, FIRST_DAY, LAST_DAY, business_hours=schedule)
        spans = [(index, *_random_span(rng)) for index in range(25)]
        table = values(
            column("id", Integer),
            column("since", DateTime(timezone=True)),
            column("until", DateTime(timezone=True)),
            name="spans",
        ).data(spans)
        clock = _Clock(filters)
        counted = clock.seconds(table.c.until, table.c.since)
        expected = func.app.business_seconds(
            table.c.since, table.c.until, *_opening_params(filters)
        )
        statement = clock.joined(select(table.c.id, counted, expected).select_from(table))
        async with db.service_session() as session:
            rows = (await session.execute(statement)).all()
        assert len(rows) == len(spans)
        for index, calendar, function in rows:
            context = (zone.key, schedule, spans[index])
            if function is None:
                assert calendar is None, context
            else:
                assert abs(calendar - function) < 1e-6, context
            compared += 1
    assert compared == 24 * 25
