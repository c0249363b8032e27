"""How reports measure time: a duration in every hour or only in opening hours (the business
calendar), the cycles' two durations, and a moment on the company's clock."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Date,
    DateTime,
    Float,
    Select,
    String,
    Time,
    bindparam,
    case,
    cast,
    column,
    func,
    or_,
)
from sqlalchemy.dialects.postgresql import ARRAY

from zapcrm.reports.repository.sources import Cycle
from zapcrm.reports.schemas import ReportFilters


class _Clock:
    """How one statement measures a duration: the plain difference, or, when the report counts
    business hours, the part in opening hours.

    The business seconds come from app.business_calendar (migration 0048), joined once per
    moment the statement reads (the calendar row of the local day it falls in), as the
    difference of two app.business_clock values: a few arithmetic steps a row instead of a
    PL/pgSQL call per duration and aggregate. The calendar spans the month before the period
    up to tomorrow; a moment outside it (a cycle open for over a month, a clock far ahead)
    falls back to app.business_seconds (0042), which counts the same seconds."""

    def __init__(self, filters: ReportFilters) -> None:
        self.filters = filters
        self._days: dict[str, tuple[Any, Any]] = {}

    def seconds(self, later: Any, earlier: Any) -> ColumnElement[float]:
        """The time from `earlier` to `later` (null when either is)."""
        if self.filters.business_hours is None:
            # extract() answers numeric; percentile_cont wants double precision.
            return cast(func.extract("epoch", later - earlier), Float)
        since, until = self._day(earlier), self._day(later)
        counted = func.greatest(
            0.0, _business_clock(later, until) - _business_clock(earlier, since), type_=Float
        )
        fallback = func.app.business_seconds(
            earlier, later, *_opening_params(self.filters), type_=Float
        )
        return case((or_(since.c.day.is_(None), until.c.day.is_(None)), fallback), else_=counted)

    def _day(self, moment: Any) -> Any:
        found = self._days.get(moment.key)
        if found is None:
            found = (moment, _calendar(self.filters).alias(f"hours_{moment.key}"))
            self._days[moment.key] = found
        return found[1]

    def joined(self, statement: Select[Any]) -> Select[Any]:
        """The statement with the calendar day of each moment `seconds` read (none without
        business hours)."""
        for moment, day in self._days.values():
            statement = statement.outerjoin(day, day.c.day == _local_day(moment, self.filters))
        return statement


def _calendar(filters: ReportFilters) -> Any:
    """app.business_calendar over the days a report's moments may fall in (see `_Clock`)."""
    first, last = _calendar_span(filters)
    return func.app.business_calendar(
        bindparam("calendar_from", first, type_=Date),
        bindparam("calendar_to", last, type_=Date),
        *_opening_params(filters),
    ).table_valued(
        column("day", Date),
        column("opens_at", DateTime(timezone=True)),
        column("closes_at", DateTime(timezone=True)),
        column("break_from", DateTime(timezone=True)),
        column("break_until", DateTime(timezone=True)),
        column("before", Float),
    )


def _calendar_span(filters: ReportFilters) -> tuple[date | None, date | None]:
    """The calendar's first and last day: a month before the period (a cycle that closes in
    the period started in the month before it, all but always) up to tomorrow (None, None: the
    report counts every hour, and the calendar is empty)."""
    if filters.business_hours is None:
        return None, None
    today = datetime.now(filters.timezone).date()
    return (
        filters.first_day - timedelta(days=31),
        max(filters.last_day, today) + timedelta(days=1),
    )


def _business_clock(moment: Any, day: Any) -> ColumnElement[float]:
    return func.app.business_clock(
        moment,
        day.c.before,
        day.c.opens_at,
        day.c.closes_at,
        day.c.break_from,
        day.c.break_until,
        type_=Float,
    )


# app.business_seconds' opening hours (migration 0042), bound as arrays.
_OPENING_TYPES: dict[str, ARRAY[Any]] = {
    "opens": ARRAY(Time),
    "closes": ARRAY(Time),
    "breaks_from": ARRAY(Time),
    "breaks_until": ARRAY(Time),
    "holidays": ARRAY(Date),
}


def _opening_params(filters: ReportFilters) -> list[Any]:
    # Named parameters, one of each however many times they appear (see `_local`).
    return [
        *(
            bindparam(name, value, type_=_OPENING_TYPES[name])
            for name, value in _opening(filters).items()
        ),
        bindparam("zone", filters.timezone.key, type_=String),
    ]


def _opening(filters: ReportFilters) -> dict[str, list[Any] | None]:
    """The report's opening hours as app.business_seconds reads them: the opening and closing
    time of each ISO weekday, 1 to 7 (None: closed that weekday), its break's start and end
    (None: no break), and the holidays; all None when the report counts every hour."""
    schedule = filters.business_hours
    if schedule is None:
        return dict.fromkeys(_OPENING_TYPES)
    weekdays = range(1, 8)
    hours = [schedule.days.get(weekday) for weekday in weekdays]
    pauses = [schedule.breaks.get(weekday) for weekday in weekdays]
    return {
        "opens": [None if day is None else day[0] for day in hours],
        "closes": [None if day is None else day[1] for day in hours],
        "breaks_from": [None if pause is None else pause[0] for pause in pauses],
        "breaks_until": [None if pause is None else pause[1] for pause in pauses],
        "holidays": sorted(schedule.holidays),
    }


def _first_response(clock: _Clock) -> ColumnElement[float]:
    return clock.seconds(Cycle.first_human_reply_at, Cycle.started_at)


def _resolution(clock: _Clock) -> ColumnElement[float]:
    return clock.seconds(Cycle.closed_at, Cycle.started_at)


def _local(moment: Any, filters: ReportFilters) -> ColumnElement[Any]:
    """A timestamp as the company's wall clock reads it (timestamp without zone).

    The zone is one named parameter wherever it appears, so the grouped expression and the
    selected one are the same to Postgres (a fresh parameter each time is "must appear in the
    GROUP BY clause")."""
    return func.timezone(bindparam("zone", filters.timezone.key, type_=String), moment)


def _local_day(moment: Any, filters: ReportFilters) -> ColumnElement[date]:
    return cast(_local(moment, filters), Date)
