"""Service reports page (supervisors and admins): a period, a number, an agent and (when the
company has departments) a department to filter by, times counted on the clock or only in
business hours, the summary's figures as cards, the
customers' satisfaction and its grades, the days and weekday hours of the period, the
per-agent and per-department tables, and the per-cycle CSV of the same filters."""

from __future__ import annotations

import uuid
from typing import Annotated, Literal
from urllib.parse import urlencode

from babel.numbers import format_decimal, format_percent
from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from sqlalchemy.ext.asyncio import AsyncSession

from zapcrm.dependencies import RuntimeDep
from zapcrm.evolution.admin import company_instances
from zapcrm.exceptions import ValidationFailed
from zapcrm.reports import export
from zapcrm.reports import service as reports_service
from zapcrm.reports.schemas import ReportFilters, SatisfactionStats
from zapcrm.surveys import service as surveys_service
from zapcrm.web.charts import BarChart, grouped_bars
from zapcrm.web.dependencies import CurrentPanelUser, PanelUser, require_supervisor
from zapcrm.web.form_errors import form_errors
from zapcrm.web.i18n import N_, current_locale
from zapcrm.web.reports_view import opening_summary, volume_view
from zapcrm.web.templating import number, render
from zapcrm.web.views import Agents, optional_uuid

router = APIRouter()

Period = Literal["today", "7d", "30d", "custom"]
PERIODS: dict[str, Period] = {"today": "today", "7d": "7d", "30d": "30d", "custom": "custom"}
PRESET_DAYS: dict[str, int] = {"today": 1, "7d": 7, "30d": 30}

PeriodParam = Annotated[str | None, Query(max_length=10)]
DayParam = Annotated[str | None, Query(max_length=40)]
IdParam = Annotated[str | None, Query(max_length=40)]
# The form's checkbox: present ("1") when the times should count only the opening hours.
HoursParam = Annotated[str | None, Query(max_length=10)]


def _period(period: str | None, date_from: str | None, date_to: str | None) -> Period:
    if period in PERIODS:
        return PERIODS[period]
    return "custom" if date_from or date_to else "7d"


async def _filters(
    session: AsyncSession,
    user: PanelUser,
    period: Period,
    date_from: str | None,
    date_to: str | None,
    instance_id: uuid.UUID | None,
    agent_id: uuid.UUID | None,
    department_id: uuid.UUID | None,
    business_hours: bool,
) -> ReportFilters:
    custom = period == "custom"
    return await reports_service.resolve_filters(
        session,
        user.identity,
        reports_service.parse_day(date_from, "from") if custom else None,
        reports_service.parse_day(date_to, "to") if custom else None,
        instance_id=instance_id,
        agent_id=agent_id,
        department_id=department_id,
        business_hours=business_hours,
        days=PRESET_DAYS.get(period, PRESET_DAYS["7d"]),
    )


def _csv_query(filters: ReportFilters) -> str:
    params = {"from": filters.first_day.isoformat(), "to": filters.last_day.isoformat()}
    if filters.instance_id:
        params["instance_id"] = str(filters.instance_id)
    if filters.agent_id:
        params["agent_id"] = str(filters.agent_id)
    if filters.department_id:
        params["department_id"] = str(filters.department_id)
    if filters.business_hours is not None:
        params["business_hours"] = "1"
    return urlencode(params)


def average_rating(value: float | None) -> str:
    """A mean grade with one decimal, as the reader writes numbers ("4,3"; "—": none)."""
    return "—" if value is None else format_decimal(value, "0.0", locale=current_locale())


def percent(value: float | None) -> str:
    """A 0-100 share as a whole percentage in the reader's language ("67%"; "—": none)."""
    return "—" if value is None else format_percent(value / 100, locale=current_locale())


def grades_chart(satisfaction: SatisfactionStats) -> BarChart:
    """One bar per grade, 1 to 5, of the period's answers."""
    return grouped_bars(
        [str(grade.grade) for grade in satisfaction.grades],
        [[grade.count for grade in satisfaction.grades]],
        label=number,
    )


@router.get("/reports")
async def reports_page(
    request: Request,
    runtime: RuntimeDep,
    user: CurrentPanelUser,
    period: PeriodParam = None,
    date_from: Annotated[str | None, Query(alias="from", max_length=40)] = None,
    date_to: Annotated[str | None, Query(alias="to", max_length=40)] = None,
    instance_id: IdParam = None,
    agent_id: IdParam = None,
    department_id: IdParam = None,
    business_hours: HoursParam = None,
) -> Response:
    """The service report of a period (by default the last 7 days including today)."""
    require_supervisor(user)
    chosen = _period(period, date_from, date_to)
    instance = optional_uuid(instance_id, N_("número inválido"))
    agent = optional_uuid(agent_id, N_("atendente inválido"))
    department = optional_uuid(department_id, N_("setor inválido"))
    in_hours = bool(business_hours)
    error: str | None = None
    error_field: str | None = None
    async with runtime.db.tenant_session(user.identity.claims) as session:
        try:
            filters = await _filters(
                session, user, chosen, date_from, date_to, instance, agent, department, in_hours
            )
        except ValidationFailed as invalid:
            # The form keeps the period as typed, with the reason by the refused date, for the
            # reader to correct; the figures below fall back to the last 7 days and say so.
            error, fields = form_errors(invalid)
            error_field = fields[0]["field"] if fields else None
            filters = await _filters(
                session, user, "7d", None, None, instance, agent, department, in_hours
            )
        report = await reports_service.summary(session, user.identity, filters)
        volume = await reports_service.volume(session, user.identity, filters)
        # Read only for an empty period: the card then says whether the survey is off.
        survey_on = bool(report.satisfaction.surveys_sent) or (
            (await surveys_service.get_survey(session, user.identity)).enabled
        )
        agents = await Agents.load(session, user.identity)
        instances = await company_instances(session, user.identity.company_id)
    context = user.page_context(
        request,
        "reports",
        report=report,
        volume=volume_view(volume),
        grades_chart=grades_chart(report.satisfaction),
        survey_on=survey_on,
        average_rating=average_rating,
        percent=percent,
        filters=filters,
        period=chosen,
        error=error,
        error_field=error_field,
        typed_from=date_from or "",
        typed_to=date_to or "",
        agents=agents,
        instances=instances,
        csv_query=_csv_query(filters),
        opening=opening_summary(filters.business_hours) if filters.business_hours else "",
    )
    return render("reports/page.html", context, status_code=422 if error else 200)


@router.get("/reports/conversations.csv")
async def conversations_csv(
    runtime: RuntimeDep,
    user: CurrentPanelUser,
    date_from: Annotated[str | None, Query(alias="from", max_length=40)] = None,
    date_to: Annotated[str | None, Query(alias="to", max_length=40)] = None,
    instance_id: IdParam = None,
    agent_id: IdParam = None,
    department_id: IdParam = None,
    business_hours: HoursParam = None,
) -> Response:
    """One row per service cycle of the filtered period, as a CSV file (like the API's)."""
    require_supervisor(user)
    instance = optional_uuid(instance_id, N_("número inválido"))
    agent = optional_uuid(agent_id, N_("atendente inválido"))
    department = optional_uuid(department_id, N_("setor inválido"))
    async with runtime.db.tenant_session(user.identity.claims) as session:
        filters = await _filters(
            session,
            user,
            "custom",
            date_from,
            date_to,
            instance,
            agent,
            department,
            bool(business_hours),
        )
    plan = reports_service.plan_export(user.identity, filters)
    return export.csv_response(runtime.db, user.identity.claims, plan)
