"""The volume page: cycles started and closed and messages received and sent per day, and
customer messages per weekday and hour."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any, NamedTuple

from sqlalchemy import (
    ColumnElement,
    Date,
    Integer,
    cast,
    func,
    literal_column,
    null,
    select,
    tuple_,
    union_all,
)
from sqlalchemy.ext.asyncio import AsyncSession

from zapcrm.reports.repository.clock import _local, _local_day
from zapcrm.reports.repository.sources import (
    Cycle,
    Message,
    _closed,
    _cycles,
    _messages,
    _sent,
    _started,
)
from zapcrm.reports.schemas import ReportFilters


class DayFigures(NamedTuple):
    """One calendar day's volume (a day with nothing has no row)."""

    day: date
    cycles_started: int
    cycles_closed: int
    messages_inbound: int
    messages_outbound: int


class VolumeFigures(NamedTuple):
    """The volume page's counts: per day of the period (a day with nothing has no row), and
    customer messages per (ISO weekday 1-7, hour 0-23) on the company's clock (hours with
    none are absent)."""

    days: list[DayFigures]
    inbound_by_hour: dict[tuple[int, int], int]


async def volume_figures(
    session: AsyncSession, company_id: uuid.UUID, filters: ReportFilters
) -> VolumeFigures:
    """Cycles started and closed and messages received and sent per day, and customer messages
    per weekday and hour, in one statement: each count is grouped by its own day first (the
    messages by day and by weekday-hour in one read, grouping sets), then put together."""
    started_day = _local_day(Cycle.started_at, filters)
    closed_day = _local_day(Cycle.closed_at, filters)
    local = _local(Message.message_timestamp, filters)
    zero: ColumnElement[int] = literal_column("0")
    none: ColumnElement[int] = cast(null(), Integer)

    def counts(started: Any, closed: Any, inbound: Any, outbound: Any) -> list[Any]:
        return [
            started.label("started"),
            closed.label("closed"),
            inbound.label("inbound"),
            outbound.label("outbound"),
        ]

    starts = (
        _cycles(company_id, filters)
        .add_columns(
            started_day.label("day"),
            none.label("weekday"),
            none.label("hour"),
            *counts(func.count(), zero, zero, zero),
        )
        .where(_started(filters))
        .group_by(started_day)
    )
    closes = (
        _cycles(company_id, filters)
        .add_columns(
            closed_day.label("day"),
            none.label("weekday"),
            none.label("hour"),
            *counts(zero, func.count(), zero, zero),
        )
        .where(_closed(filters))
        .group_by(closed_day)
    )
    # The messages counted per hour of the company's clock first (one read, hashed into a few
    # hundred rows), then summed per day (weekday and hour null) and per weekday-hour (day
    # null): grouping sets straight over the messages sorted them twice.
    # The unit written in the statement: a parameter for each of the two would make them two
    # expressions, and the selected one "must appear in the GROUP BY clause".
    bucket = func.date_trunc(literal_column("'hour'"), local)
    hourly = (
        _messages(company_id, filters)
        .add_columns(
            bucket.label("hour"),
            func.count().filter(~Message.from_me).label("inbound"),
            func.count().filter(_sent()).label("outbound"),
        )
        .group_by(bucket)
        .subquery()
    )
    message_day = cast(hourly.c.hour, Date)
    weekday = cast(func.extract("isodow", hourly.c.hour), Integer)
    hour = cast(func.extract("hour", hourly.c.hour), Integer)
    messages = select(
        message_day.label("day"),
        weekday.label("weekday"),
        hour.label("hour"),
        *counts(zero, zero, func.sum(hourly.c.inbound), func.sum(hourly.c.outbound)),
    ).group_by(func.grouping_sets(tuple_(message_day), tuple_(weekday, hour)))
    parts = union_all(starts, closes, messages).subquery()
    statement = (
        select(
            parts.c.day,
            parts.c.weekday,
            parts.c.hour,
            *(
                cast(func.sum(parts.c[name]), Integer)
                for name in ("started", "closed", "inbound", "outbound")
            ),
        )
        .group_by(parts.c.day, parts.c.weekday, parts.c.hour)
        .order_by(parts.c.day, parts.c.weekday, parts.c.hour)
    )
    days: list[DayFigures] = []
    by_hour: dict[tuple[int, int], int] = {}
    for row in (await session.execute(statement)).all():
        if row.day is not None:
            days.append(DayFigures(row.day, *row[3:]))
        elif row[5]:  # a weekday-hour cell with customer messages
            by_hour[row.weekday, row.hour] = row[5]
    return VolumeFigures(days, by_hour)
