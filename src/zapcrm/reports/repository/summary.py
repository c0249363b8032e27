"""The summary: its totals and per-agent and per-department rows (satisfaction survey
included), from one read of the cycles and one of the messages."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any, NamedTuple

from sqlalchemy import ColumnElement, Float, and_, cast, func, select, tuple_
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncSession

from zapcrm.models import Department, Profile
from zapcrm.reports.repository.clock import _Clock, _first_response, _resolution
from zapcrm.reports.repository.sources import (
    Cycle,
    Message,
    _asked,
    _closed,
    _cycles,
    _messages,
    _sent,
    _started,
    _touched,
)
from zapcrm.reports.schemas import GRADES, SATISFIED_GRADE, ReportFilters


class SurveyFigures(NamedTuple):
    """The satisfaction survey of a set of cycles: questions sent, answers, their mean grade,
    and the answers of 4 or 5."""

    sent: int
    answered: int
    rating_mean: float | None
    satisfied: int


def _survey(row: Any) -> SurveyFigures:
    """A row's `_survey_stats` columns (labelled; null counts: none in the group)."""
    return SurveyFigures(
        row.surveys_sent or 0, row.surveys_answered or 0, row.rating_mean, row.satisfied or 0
    )


class CycleFigures(NamedTuple):
    """The summary's numbers before they become a response body."""

    cycles_started: int
    cycles_closed: int
    cycles_open: int
    replied: int
    first_response_mean: float | None
    first_response_median: float | None
    first_response_p90: float | None
    resolution_mean: float | None
    resolution_median: float | None
    resolution_p90: float | None
    messages_inbound: int
    messages_outbound: int
    survey: SurveyFigures
    grades: dict[int, int]  # answers per grade, 1 to 5, zeros included


class AgentFigures(NamedTuple):
    """One agent's row of the summary."""

    agent_id: uuid.UUID
    name: str
    conversations_handled: int
    cycles_closed: int
    messages_sent: int
    median_first_response: float | None
    survey: SurveyFigures


class DepartmentFigures(NamedTuple):
    """One department's row of the summary (`department_id` None: the chats in none)."""

    department_id: uuid.UUID | None
    name: str | None
    conversations_handled: int
    cycles_closed: int
    median_first_response: float | None
    median_resolution: float | None
    survey: SurveyFigures


def _percentile(fraction: float, value: ColumnElement[float], where: Any) -> Any:
    return func.percentile_cont(fraction).within_group(value).filter(where)


def _survey_stats(touched: Any) -> list[Any]:
    """The survey aggregates over the cycles asked in the period, labelled for `_survey`."""
    asked, rating = touched.c.asked, touched.c.rating
    return [
        func.count().filter(asked).label("surveys_sent"),
        func.count().filter(asked, rating.is_not(None)).label("surveys_answered"),
        # avg() of a smallint is numeric; the figures are floats like the times.
        cast(func.avg(rating).filter(asked), Float).label("rating_mean"),
        func.count().filter(asked, rating >= SATISFIED_GRADE).label("satisfied"),
    ]


def _cycle_stats(touched: Any) -> list[Any]:
    """The cycle aggregates over `_touched_cycles`, labelled: counts started, closed, open
    and answered, first response (over cycles started in the period) and resolution (over
    cycles closed in it), the survey's figures and its answers per grade. One definition for
    the totals and every group of the summary, so the rows and the totals cannot drift
    apart."""
    started, closed = touched.c.started, touched.c.closed
    replied = and_(started, touched.c.answered)
    first_response, resolution = touched.c.first_response, touched.c.resolution
    return [
        func.count().filter(started).label("started"),
        func.count().filter(closed).label("closed"),
        func.count().filter(started, touched.c.still_open).label("open"),
        func.count().filter(replied).label("replied"),
        func.avg(first_response).filter(replied).label("fr_mean"),
        _percentile(0.5, first_response, replied).label("fr_median"),
        _percentile(0.9, first_response, replied).label("fr_p90"),
        func.avg(resolution).filter(closed).label("res_mean"),
        _percentile(0.5, resolution, closed).label("res_median"),
        _percentile(0.9, resolution, closed).label("res_p90"),
        *_survey_stats(touched),
        *(
            func.count().filter(touched.c.asked, touched.c.rating == grade).label(f"grade_{grade}")
            for grade in GRADES
        ),
    ]


def _touched_cycles(company_id: uuid.UUID, filters: ReportFilters) -> Any:
    """The scope's cycles the period touches, one row each with what the summary's aggregates
    read: its agent, closer and department, whether it started, closed or was asked about in
    the period, and both durations (`_Clock`)."""
    clock = _Clock(filters)
    return clock.joined(
        _cycles(company_id, filters)
        .add_columns(
            Cycle.department_id.label("department_id"),
            Cycle.assignee_id.label("assignee_id"),
            Cycle.closed_by.label("closed_by"),
            _started(filters).label("started"),
            _closed(filters).label("closed"),
            _asked(filters).label("asked"),
            Cycle.first_human_reply_at.is_not(None).label("answered"),
            Cycle.closed_at.is_(None).label("still_open"),
            Cycle.rating.label("rating"),
            _first_response(clock).label("first_response"),
            _resolution(clock).label("resolution"),
        )
        .where(_touched(filters))
    ).subquery("touched")


class SummaryFigures(NamedTuple):
    """The summary's cycle and message figures: the totals, one row per agent and one per
    department."""

    totals: CycleFigures
    agents: list[AgentFigures]
    departments: list[DepartmentFigures]


# Which grouping set a row of `summary_figures`' cycle statement belongs to:
# grouping(department_id, assignee_id, closed_by) has a bit set per column the set leaves out.
_ALL, _BY_DEPARTMENT, _BY_AGENT, _BY_CLOSER = 0b111, 0b011, 0b101, 0b110


async def summary_figures(
    session: AsyncSession, company_id: uuid.UUID, filters: ReportFilters
) -> SummaryFigures:
    """The summary's totals, per-agent and per-department rows from one read of the cycles
    (grouping sets: all, per department, per agent held, per closer) and one of the messages
    (all, per sender), instead of a read of each per figure: at 100,000 cycles every read
    cost a scan, a join and, with business hours, the calendar lookups of each cycle."""
    touched = _touched_cycles(company_id, filters)
    keys = (touched.c.department_id, touched.c.assignee_id, touched.c.closed_by)
    cycle_rows = (
        await session.execute(
            select(*keys, func.grouping(*keys).label("grouping"), *_cycle_stats(touched))
            .select_from(touched)
            .group_by(func.grouping_sets(tuple_(), *(tuple_(key) for key in keys)))
        )
    ).all()
    sender = Message.sent_by
    message_rows = (
        await session.execute(
            _messages(company_id, filters)
            .add_columns(
                sender.label("agent_id"),
                func.grouping(sender).label("grouping"),
                func.count().filter(~Message.from_me).label("inbound"),
                func.count().filter(_sent()).label("outbound"),
            )
            .group_by(func.grouping_sets(tuple_(), tuple_(sender)))
        )
    ).all()
    totals = next(row for row in cycle_rows if row.grouping == _ALL)
    messages = next(row for row in message_rows if row.grouping == 1)
    return SummaryFigures(
        totals=CycleFigures(
            totals.started,
            totals.closed,
            totals.open,
            totals.replied,
            totals.fr_mean,
            totals.fr_median,
            totals.fr_p90,
            totals.res_mean,
            totals.res_median,
            totals.res_p90,
            messages.inbound,
            messages.outbound,
            _survey(totals),
            {grade: totals._mapping[f"grade_{grade}"] for grade in GRADES},
        ),
        agents=await _agent_rows(session, company_id, filters, cycle_rows, message_rows),
        departments=await _department_rows(session, company_id, filters, cycle_rows),
    )


_NO_SURVEY = SurveyFigures(0, 0, None, 0)


async def _agent_rows(
    session: AsyncSession,
    company_id: uuid.UUID,
    filters: ReportFilters,
    cycle_rows: Sequence[Row[Any]],
    message_rows: Sequence[Row[Any]],
) -> list[AgentFigures]:
    """One row per user who handled (held a cycle started in the period), closed or sent
    anything in the period, or held a cycle whose customer was asked about it, by name; the
    survey and first response credit the agent who held the cycle."""
    held = {
        row.assignee_id: row
        for row in cycle_rows
        if row.grouping == _BY_AGENT and row.assignee_id is not None
    }
    closed = {
        row.closed_by: row.closed
        for row in cycle_rows
        if row.grouping == _BY_CLOSER and row.closed_by is not None and row.closed
    }
    sent = {
        row.agent_id: row.outbound
        for row in message_rows
        if row.grouping == 0 and row.agent_id is not None and row.outbound
    }
    agents = {agent for agent, row in held.items() if row.started or row.surveys_sent}
    agents |= closed.keys() | sent.keys()
    if filters.agent_id is not None:
        # The conversations are the agent's; a colleague's message or close in them is not.
        agents &= {filters.agent_id}
    if not agents:
        return []
    name = func.coalesce(func.nullif(Profile.display_name, ""), Profile.email)
    people = await session.execute(
        select(Profile.id, name)
        .where(Profile.company_id == company_id, Profile.id.in_(agents))
        .order_by(func.lower(name), Profile.id)
    )
    figures = []
    for agent_id, agent_name in people:
        row = held.get(agent_id)
        figures.append(
            AgentFigures(
                agent_id=agent_id,
                name=agent_name,
                conversations_handled=row.started if row else 0,
                cycles_closed=closed.get(agent_id, 0),
                messages_sent=sent.get(agent_id, 0),
                median_first_response=row.fr_median if row else None,
                survey=_survey(row) if row else _NO_SURVEY,
            )
        )
    return figures


async def _department_rows(
    session: AsyncSession,
    company_id: uuid.UUID,
    filters: ReportFilters,
    cycle_rows: Sequence[Row[Any]],
) -> list[DepartmentFigures]:
    """One row per department of the company in menu order (zeros for a quiet one), then one
    for the chats in no department; only the department the report is narrowed to, if any.

    A cycle counts in the department it was served in (migration 0037): a chat moved to
    another department leaves its past cycles where they were."""
    served = {row.department_id: row for row in cycle_rows if row.grouping == _BY_DEPARTMENT}
    teams = select(Department.id, Department.name).where(Department.company_id == company_id)
    if filters.department_id is not None:
        teams = teams.where(Department.id == filters.department_id)
    ordered = teams.order_by(Department.position, func.lower(Department.name), Department.id)
    rows: list[tuple[uuid.UUID | None, str | None]] = [
        (department_id, name) for department_id, name in await session.execute(ordered)
    ]
    if filters.department_id is None:
        rows.append((None, None))  # the chats in none, after the departments
    figures = []
    for department_id, name in rows:
        row = served.get(department_id)
        figures.append(
            DepartmentFigures(
                department_id=department_id,
                name=name,
                conversations_handled=row.started if row else 0,
                cycles_closed=row.closed if row else 0,
                median_first_response=row.fr_median if row else None,
                median_resolution=row.res_median if row else None,
                survey=_survey(row) if row else _NO_SURVEY,
            )
        )
    return figures
