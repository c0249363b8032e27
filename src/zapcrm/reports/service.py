"""Report rules: the period in the company's calendar, its limits, and the figures over it.

Callers own the transaction (a tenant session under RLS); nothing here writes.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import Select
from sqlalchemy.ext.asyncio import AsyncSession

from zapcrm.accounts import service as accounts_service
from zapcrm.auth.identity import Identity
from zapcrm.db import plan_for_values, without_jit
from zapcrm.exceptions import ValidationFailed
from zapcrm.hours import service as hours_service
from zapcrm.hours.schedule import Schedule
from zapcrm.i18n import N_
from zapcrm.reports import repository
from zapcrm.reports.schemas import (
    DEFAULT_PERIOD_DAYS,
    GRADES,
    MAX_PERIOD_DAYS,
    AgentSummary,
    DayVolume,
    DepartmentSummary,
    DurationStats,
    GradeCount,
    HourTraffic,
    PeriodOut,
    RatingStats,
    ReportFilters,
    ReportSummary,
    ReportVolume,
    SatisfactionStats,
)


def parse_day(value: str | None, field: str) -> date | None:
    """A calendar day written AAAA-MM-DD (None when absent or blank)."""
    if value is None or not value.strip():
        return None
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise ValidationFailed.on_field(
            field, N_("data inválida: use o formato AAAA-MM-DD")
        ) from None


def period_filters(
    timezone: ZoneInfo,
    first_day: date | None,
    last_day: date | None,
    *,
    instance_id: uuid.UUID | None = None,
    agent_id: uuid.UUID | None = None,
    department_id: uuid.UUID | None = None,
    business_hours: Schedule | None = None,
    days: int = DEFAULT_PERIOD_DAYS,
    now: datetime | None = None,
) -> ReportFilters:
    """The period from `first_day` to `last_day` (both included; without them the last `days`
    days including today), checked, as a UTC range bounded by the zone's midnights."""
    today = (now or datetime.now(UTC)).astimezone(timezone).date()
    last = last_day or (today if first_day is None else max(first_day, today))
    first = first_day or last - timedelta(days=days - 1)
    if first > last:
        raise ValidationFailed.on_field("from", N_("a data inicial não pode ser depois da final"))
    if (last - first).days + 1 > MAX_PERIOD_DAYS:
        raise ValidationFailed.on_field("to", N_("o período pode ter no máximo 366 dias"))
    return ReportFilters(
        first_day=first,
        last_day=last,
        timezone=timezone,
        start=_midnight(first, timezone),
        end=_midnight(last + timedelta(days=1), timezone),
        instance_id=instance_id,
        agent_id=agent_id,
        department_id=department_id,
        business_hours=business_hours,
    )


def _midnight(day: date, timezone: ZoneInfo) -> datetime:
    return datetime.combine(day, time(), tzinfo=timezone).astimezone(UTC)


async def resolve_filters(
    session: AsyncSession,
    identity: Identity,
    first_day: date | None,
    last_day: date | None,
    *,
    instance_id: uuid.UUID | None = None,
    agent_id: uuid.UUID | None = None,
    department_id: uuid.UUID | None = None,
    business_hours: bool = False,
    days: int = DEFAULT_PERIOD_DAYS,
) -> ReportFilters:
    """The report's filters with the period read in the caller's company zone, and with the
    company's opening hours when the times should count only those (an instance, agent or
    department of another company is not an error: RLS makes it find nothing)."""
    schedule: Schedule | None = None
    if business_hours:
        schedule = await hours_service.company_schedule(session, identity.company_id)
        zone = schedule.zone
    else:
        zone = await accounts_service.company_zone(session, identity.company_id)
    return period_filters(
        zone,
        first_day,
        last_day,
        instance_id=instance_id,
        agent_id=agent_id,
        department_id=department_id,
        business_hours=schedule,
        days=days,
    )


def _period_out(filters: ReportFilters) -> PeriodOut:
    return PeriodOut(
        from_date=filters.first_day,
        to_date=filters.last_day,
        timezone=filters.timezone.key,
        business_hours=filters.business_hours is not None,
    )


async def summary(
    session: AsyncSession, identity: Identity, filters: ReportFilters
) -> ReportSummary:
    """The period's cycle counts, time statistics, message volumes, satisfaction survey, and
    per-agent and per-department rows."""
    await _for_reports(session)
    figures, agents, departments = await repository.summary_figures(
        session, identity.company_id, filters
    )
    replies = await repository.reply_figures(session, identity.company_id, filters)
    return ReportSummary(
        period=_period_out(filters),
        cycles_started=figures.cycles_started,
        cycles_closed=figures.cycles_closed,
        cycles_open=figures.cycles_open,
        first_response=DurationStats(
            count=figures.replied,
            mean_seconds=_float(figures.first_response_mean),
            median_seconds=_float(figures.first_response_median),
            p90_seconds=_float(figures.first_response_p90),
        ),
        resolution=DurationStats(
            count=figures.cycles_closed,
            mean_seconds=_float(figures.resolution_mean),
            median_seconds=_float(figures.resolution_median),
            p90_seconds=_float(figures.resolution_p90),
        ),
        reply=DurationStats(
            count=replies.waits,
            mean_seconds=_float(replies.mean),
            median_seconds=_float(replies.median),
            p90_seconds=_float(replies.p90),
        ),
        messages_inbound=figures.messages_inbound,
        messages_outbound=figures.messages_outbound,
        satisfaction=SatisfactionStats(
            **_ratings(figures.survey).model_dump(),
            grades=[GradeCount(grade=grade, count=figures.grades[grade]) for grade in GRADES],
        ),
        agents=[
            AgentSummary(
                agent_id=agent.agent_id,
                name=agent.name,
                conversations_handled=agent.conversations_handled,
                cycles_closed=agent.cycles_closed,
                messages_sent=agent.messages_sent,
                median_first_response_seconds=_float(agent.median_first_response),
                median_reply_seconds=_float(replies.median_by_agent.get(agent.agent_id)),
                satisfaction=_ratings(agent.survey),
            )
            for agent in agents
        ],
        departments=[
            DepartmentSummary(
                department_id=department.department_id,
                name=department.name,
                conversations_handled=department.conversations_handled,
                cycles_closed=department.cycles_closed,
                median_first_response_seconds=_float(department.median_first_response),
                median_resolution_seconds=_float(department.median_resolution),
                median_reply_seconds=_float(
                    replies.median_by_department.get(department.department_id)
                ),
                satisfaction=_ratings(department.survey),
            )
            for department in departments
        ],
    )


async def volume(session: AsyncSession, identity: Identity, filters: ReportFilters) -> ReportVolume:
    """Every day of the period with its counts (zeros included, so a chart has no gaps) and the
    168 weekday-hour cells of customer messages."""
    await _for_reports(session)
    figures = await repository.volume_figures(session, identity.company_id, filters)
    counted = {row.day: row for row in figures.days}
    days = []
    day = filters.first_day
    while day <= filters.last_day:
        row = counted.get(day)
        days.append(
            DayVolume(
                day=day,
                cycles_started=row.cycles_started if row else 0,
                cycles_closed=row.cycles_closed if row else 0,
                messages_inbound=row.messages_inbound if row else 0,
                messages_outbound=row.messages_outbound if row else 0,
            )
        )
        day += timedelta(days=1)
    by_hour = figures.inbound_by_hour
    traffic = [
        HourTraffic(weekday=weekday, hour=hour, messages_inbound=by_hour.get((weekday, hour), 0))
        for weekday in range(1, 8)
        for hour in range(24)
    ]
    return ReportVolume(period=_period_out(filters), days=days, traffic=traffic)


async def _for_reports(session: AsyncSession) -> None:
    """Plan the report's statements without JIT (`without_jit`) and for their own values: a
    statement a connection runs often is prepared, and a generic plan keeps the "filter not
    given" branches (`:department_id is null or ...`) that a custom plan drops, with
    default estimates for the period's bounds."""
    await without_jit(session)
    await plan_for_values(session)


def _float(value: float | None) -> float | None:
    return None if value is None else float(value)


def _percent(part: int, whole: int) -> float | None:
    return None if whole == 0 else 100 * part / whole


def _ratings(survey: repository.SurveyFigures) -> RatingStats:
    """Response rate and CSAT (answers of 4 or 5 over all answers) of a set of cycles."""
    return RatingStats(
        surveys_sent=survey.sent,
        surveys_answered=survey.answered,
        response_rate_percent=_percent(survey.answered, survey.sent),
        average_rating=_float(survey.rating_mean),
        csat_percent=_percent(survey.satisfied, survey.answered),
    )


@dataclass(frozen=True)
class ExportPlan:
    """What the CSV stream reads: the statement, the zone its times are written in, and
    whether its durations count only the opening hours."""

    statement: Select[tuple[object, ...]]
    timezone: ZoneInfo
    business_hours: bool = False


def plan_export(identity: Identity, filters: ReportFilters) -> ExportPlan:
    """The per-cycle export of the filtered period."""
    return ExportPlan(
        statement=repository.export_statement(identity.company_id, filters),
        timezone=filters.timezone,
        business_hours=filters.business_hours is not None,
    )
