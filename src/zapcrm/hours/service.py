"""Business hours rules: read (everyone in the company), change (admins, audited), and the
schedule a stored row means.

Callers own the transaction.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import holidays
from sqlalchemy.ext.asyncio import AsyncSession

from zapcrm.accounts.audit import audit_action
from zapcrm.auth.identity import Identity
from zapcrm.exceptions import Forbidden, NotFound
from zapcrm.hours import repository
from zapcrm.hours.schedule import Schedule, is_open, next_opening, reopening_phrase
from zapcrm.hours.schemas import (
    DEFAULT_AWAY_MESSAGE,
    DEFAULT_SCHEDULE,
    BusinessHoursIn,
    BusinessHoursOut,
    DayHours,
)
from zapcrm.i18n import N_
from zapcrm.kit import texts
from zapcrm.kit.zones import zone_or_default
from zapcrm.models import BusinessHours, Company, Role


def schedule_of(row: BusinessHours | None, company: Company) -> Schedule:
    """The schedule a stored row means in the company's zone (the default hours when none)."""
    return _schedule(_days(row), row.holidays if row else (), zone_or_default(company.timezone))


def schedule_of_settings(hours: BusinessHoursOut) -> Schedule:
    """The schedule of settings as the API shows them."""
    return _schedule(hours.schedule, hours.holidays, zone_or_default(hours.timezone))


def _schedule(days: dict[int, DayHours], holidays: Iterable[date], zone: ZoneInfo) -> Schedule:
    return Schedule(
        days={day: (hours.opens, hours.closes) for day, hours in days.items()},
        zone=zone,
        holidays=frozenset(holidays),
        breaks={day: pause for day, hours in days.items() if (pause := hours.pause) is not None},
    )


def _days(row: BusinessHours | None) -> dict[int, DayHours]:
    if row is None:
        return DEFAULT_SCHEDULE
    return {int(day): DayHours.model_validate(hours) for day, hours in row.schedule.items()}


def compose_reply(
    message: str,
    schedule: Schedule,
    *,
    name: str | None,
    phone_e164: str | None,
    company: str | None,
    at: datetime,
) -> str:
    """The out-of-office reply to one person who wrote at `at` (a checked text)."""
    context = texts.person_context(name, phone_e164, company)
    opening = next_opening(schedule, at)
    context["reopens"] = reopening_phrase(opening, at, schedule.zone) if opening else None
    return texts.render(message, context)


async def get_hours(
    session: AsyncSession, actor: Identity, *, now: datetime | None = None
) -> BusinessHoursOut:
    """The company's hours (defaults until an admin saves them) and whether it is open now."""
    row, company = await repository.hours_with_company(session, actor.company_id)
    if company is None:
        raise NotFound(N_("empresa não encontrada"))
    return _out(row, company, now or datetime.now(UTC))


async def company_schedule(session: AsyncSession, company_id: uuid.UUID) -> Schedule:
    """The company's opening hours in its zone (the default hours until an admin saves them)."""
    row, company = await repository.hours_with_company(session, company_id)
    if company is None:
        raise NotFound(N_("empresa não encontrada"))
    return schedule_of(row, company)


async def save_hours(
    session: AsyncSession, actor: Identity, data: BusinessHoursIn, *, now: datetime | None = None
) -> BusinessHoursOut:
    """Replace the company's hours and out-of-office reply (admins only; audited)."""
    if not actor.has_role(Role.ADMIN):
        raise Forbidden(N_("só administradores mudam o horário de atendimento"))
    values: dict[str, Any] = {
        "schedule": {str(day): _stored(hours) for day, hours in sorted(data.schedule.items())},
        "holidays": data.holidays,
        "holiday_names": {day.isoformat(): name for day, name in data.holiday_names.items()},
        "away_enabled": data.away_enabled,
        "away_message": data.away_message,
        "updated_by": actor.user_id,
    }
    row = await repository.save_hours(session, actor.company_id, values)
    _, company = await repository.hours_with_company(session, actor.company_id)
    assert company is not None  # the row just saved points at it
    await audit_action(
        session,
        actor,
        "business_hours.updated",
        "company",
        actor.company_id,
        {"away_enabled": data.away_enabled, "days": sorted(data.schedule)},
    )
    return _out(row, company, now or datetime.now(UTC))


# Public holidays named in the panel's language when the library has it (Brazil's are).
_HOLIDAY_LANGUAGE = "pt_BR"
# How far ahead "add the national holidays" looks: the coming year, movable ones included.
HOLIDAYS_AHEAD = timedelta(days=366)


def national_holidays(region: str, first: date, last: date) -> dict[date, str]:
    """The country's public holidays between two dates (both included), by date, named; none
    for a country the library does not know."""
    years = list(range(first.year, last.year + 1))
    try:
        calendar = holidays.country_holidays(region, years=years, language=_HOLIDAY_LANGUAGE)
    except NotImplementedError:
        return {}
    return {day: str(name) for day, name in sorted(calendar.items()) if first <= day <= last}


def holiday_names(region: str, days: Iterable[date]) -> dict[date, str]:
    """The national holiday each of `days` is, for those that are one."""
    wanted = sorted(set(days))
    if not wanted:
        return {}
    named = national_holidays(region, wanted[0], wanted[-1])
    return {day: named[day] for day in wanted if day in named}


async def coming_national_holidays(
    session: AsyncSession, company_id: uuid.UUID, now: datetime
) -> dict[date, str]:
    """The public holidays of the next 12 months of the company's phone country, counted from
    today on the company's calendar."""
    _, company = await repository.hours_with_company(session, company_id)
    if company is None:
        raise NotFound(N_("empresa não encontrada"))
    today = now.astimezone(zone_or_default(company.timezone)).date()
    return national_holidays(company.default_region, today, today + HOLIDAYS_AHEAD)


async def add_national_holidays(
    session: AsyncSession, actor: Identity, *, now: datetime | None = None
) -> tuple[BusinessHoursOut, int]:
    """Close on the country's public holidays of the coming year (the company's phone
    country); the saved hours and how many days were added (admins; audited by the save)."""
    now = now or datetime.now(UTC)
    current = await get_hours(session, actor, now=now)
    coming = await coming_national_holidays(session, actor.company_id, now)
    added = set(coming) - set(current.holidays)
    if not added:
        return current, 0
    data = BusinessHoursIn.model_validate(
        current.model_dump(include=set(BusinessHoursIn.model_fields))
        | {"holidays": [*current.holidays, *added]}
    )
    return await save_hours(session, actor, data, now=now), len(added)


def _clock(moment: time) -> str:
    return moment.isoformat(timespec="minutes" if not moment.second else "seconds")


def _stored(hours: DayHours) -> dict[str, str]:
    """A day's hours as the row keeps them ("08:00"), the break only when there is one."""
    stored = {"opens": _clock(hours.opens), "closes": _clock(hours.closes)}
    if hours.pause is not None:
        stored["break_from"], stored["break_until"] = map(_clock, hours.pause)
    return stored


def _out(row: BusinessHours | None, company: Company, now: datetime) -> BusinessHoursOut:
    days = _days(row)
    holidays = row.holidays if row else []
    schedule = _schedule(days, holidays, zone_or_default(company.timezone))
    open_now = is_open(schedule, now)
    return BusinessHoursOut(
        schedule=days,
        holidays=list(holidays),
        # Rows saved before closed days had names have none (the column's default).
        holiday_names=row.holiday_names if row else {},
        away_enabled=row.away_enabled if row else False,
        away_message=row.away_message if row and row.away_message else DEFAULT_AWAY_MESSAGE,
        timezone=schedule.zone.key,
        open_now=open_now,
        next_opening=None if open_now else next_opening(schedule, now),
        updated_at=row.updated_at if row else None,
    )
