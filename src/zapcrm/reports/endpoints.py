"""Reports API (supervisors and admins): the service summary of a period, its volume day by day
and hour by hour, and its per-cycle CSV.

All take the same filters: `from` and `to` are calendar days in the company's time zone (both
included; by default the last 7 days including today, at most 366 days), `instance_id` and
`agent_id` narrow the report to one WhatsApp number or to the service cycles one agent held,
`department_id` to the cycles served in a department, and `business_hours=true` counts the
times (first response, resolution, reply) only in the company's opening hours: a message sent
at night and answered when the business opens waited only the minutes after the opening.
"""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from fastapi.responses import StreamingResponse

from zapcrm.dependencies import RuntimeDep, Supervisor, TenantSession
from zapcrm.reports import export, service
from zapcrm.reports.schemas import ReportFilters, ReportSummary, ReportVolume

router = APIRouter(tags=["reports"])

# Generous bounds: a malformed day reaches parse_day, whose message says the expected format.
DateFrom = Annotated[
    str | None,
    Query(alias="from", max_length=40, description="primeiro dia (AAAA-MM-DD), incluído"),
]
DateTo = Annotated[
    str | None,
    Query(alias="to", max_length=40, description="último dia (AAAA-MM-DD), incluído"),
]


async def _filters(
    identity: Supervisor,
    session: TenantSession,
    date_from: DateFrom = None,
    date_to: DateTo = None,
    instance_id: uuid.UUID | None = None,
    agent_id: uuid.UUID | None = None,
    department_id: uuid.UUID | None = None,
    business_hours: Annotated[
        bool, Query(description="contar os tempos só no horário de atendimento")
    ] = False,
) -> ReportFilters:
    """The period and narrowing every report takes, read from the query string."""
    return await service.resolve_filters(
        session,
        identity,
        service.parse_day(date_from, "from"),
        service.parse_day(date_to, "to"),
        instance_id=instance_id,
        agent_id=agent_id,
        department_id=department_id,
        business_hours=business_hours,
    )


# Every report endpoint's filters (FastAPI shares the caller and the session with the endpoint).
Filters = Annotated[ReportFilters, Depends(_filters)]


@router.get("/api/reports/summary")
async def summary(identity: Supervisor, session: TenantSession, filters: Filters) -> ReportSummary:
    """Cycles started, closed and still open, first response and resolution times, message
    volumes, the satisfaction survey (questions sent, answers, mean grade, CSAT, the grades),
    one row per agent and one per department (and one for the chats in none)."""
    return await service.summary(session, identity, filters)


@router.get("/api/reports/volume")
async def volume(identity: Supervisor, session: TenantSession, filters: Filters) -> ReportVolume:
    """Cycles started and closed and messages received and sent on each day of the period, and
    customer messages per weekday and hour (when the team is needed most)."""
    return await service.volume(session, identity, filters)


@router.get(
    "/api/reports/conversations.csv",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/csv": {}}, "description": "arquivo CSV (;, UTF-8 com BOM)"}},
)
async def conversations_csv(
    identity: Supervisor, runtime: RuntimeDep, filters: Filters
) -> StreamingResponse:
    """One row per service cycle started or closed in the period, with the customer's grade
    when they answered the survey, for spreadsheets."""
    return export.csv_response(runtime.db, identity.claims, service.plan_export(identity, filters))
