"""Opening hours as pure functions of a clock: open or closed at a moment, when it opens next,
and how to say that to a customer ("amanhã às 08:00").

Times are wall-clock times in the company's zone: 08:00 stays 08:00 across a change of UTC
offset. A day has at most one interval [opens, closes), with at most one break inside it
[from, until) (the lunch hour most Brazilian shops close for); a holiday is closed all day.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

# Far enough to cross a year of weekly closures and a run of holidays, near enough to be cheap.
_LOOKAHEAD_DAYS = 400
# Customers read these: in the company's language (zapcrm's companies are Brazilian).
_WEEKDAYS = (
    "segunda-feira",
    "terça-feira",
    "quarta-feira",
    "quinta-feira",
    "sexta-feira",
    "sábado",
    "domingo",
)


@dataclass(frozen=True, slots=True)
class Schedule:
    """A company's opening hours: ISO weekday (1 = Monday) -> (opens, closes), the break inside
    a weekday's hours (from, until) when it has one, the days it is closed whatever the
    weekday, and the zone the times are in."""

    days: dict[int, tuple[time, time]]
    zone: ZoneInfo
    holidays: frozenset[date] = field(default_factory=frozenset)
    breaks: dict[int, tuple[time, time]] = field(default_factory=dict)

    def hours_on(self, day: date) -> tuple[time, time] | None:
        """The interval the business is open on `day`, or None when closed all day."""
        if day in self.holidays:
            return None
        return self.days.get(day.isoweekday())


def is_open(schedule: Schedule, at: datetime) -> bool:
    """Whether the business is open at the moment `at` (any zone-aware datetime)."""
    local = at.astimezone(schedule.zone)
    day = local.date()
    hours = schedule.hours_on(day)
    clock = local.time().replace(tzinfo=None)
    if hours is None or not hours[0] <= clock < hours[1]:
        return False
    pause = schedule.breaks.get(day.isoweekday())
    return pause is None or not pause[0] <= clock < pause[1]


def next_opening(schedule: Schedule, at: datetime) -> datetime | None:
    """When the business next opens after `at` (in its zone), or None if it never does: the
    start of a day's hours or the end of its break."""
    local = at.astimezone(schedule.zone)
    for offset in range(_LOOKAHEAD_DAYS):
        day = local.date() + timedelta(days=offset)
        hours = schedule.hours_on(day)
        if hours is None:
            continue
        pause = schedule.breaks.get(day.isoweekday())
        for start in (hours[0], *(() if pause is None else (pause[1],))):
            opens = datetime.combine(day, start, schedule.zone)
            if opens > local:
                return opens
    return None


def reopening_phrase(opening: datetime, at: datetime, zone: ZoneInfo) -> str:
    """`opening` as a customer reads it from `at`: "hoje às 13:00", "amanhã às 08:00",
    "segunda-feira às 08:00" within a week, "em 02/01 às 08:00" beyond."""
    local = opening.astimezone(zone)
    days = (local.date() - at.astimezone(zone).date()).days
    clock = f"às {local:%H:%M}"
    if days == 0:
        return f"hoje {clock}"
    if days == 1:
        return f"amanhã {clock}"
    if days < 7:
        return f"{_WEEKDAYS[local.weekday()]} {clock}"
    return f"em {local:%d/%m} {clock}"
