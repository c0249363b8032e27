"""SQL for reports: the summary, per-agent and per-department aggregates (satisfaction survey
included), the volume per day and hour of the week, and the per-cycle export rows.

Every statement filters by company explicitly; RLS decides what the caller may read. Times are
aggregated in Postgres (`percentile_cont`), never by looping over rows in Python.
"""

from __future__ import annotations

import functools
import uuid
from collections.abc import AsyncIterator, Sequence
from datetime import date, datetime, timedelta
from typing import Any, NamedTuple

from sqlalchemy import (
    Column,
    ColumnElement,
    Date,
    DateTime,
    Float,
    Integer,
    MetaData,
    Select,
    String,
    Table,
    TextClause,
    Time,
    and_,
    bindparam,
    case,
    cast,
    column,
    exists,
    func,
    literal_column,
    null,
    or_,
    select,
    text,
    tuple_,
    union_all,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from zapcrm.messaging.schemas import AUTOMATIC_MARKS
from zapcrm.models import (
    Contact,
    ConversationCycle,
    Department,
    EvolutionConversation,
    EvolutionInstance,
    EvolutionMessage,
    Profile,
)
from zapcrm.reports.schemas import GRADES, SATISFIED_GRADE, ReportFilters


def _report_view(name: str, model: Any) -> Any:
    """`model` read through migration 0050's view `app.<name>`: its company's rows when the
    caller is a supervisor or an admin (nothing otherwise), checked once per statement instead
    of by the table's policy for every row (which cost most of a report's time)."""
    table = Table(
        name, MetaData(), *(Column(c.name, c.type) for c in model.__table__.c), schema="app"
    )
    return aliased(model, table, adapt_on_names=True)


Cycle = _report_view("report_cycles", ConversationCycle)
Message = _report_view("report_messages", EvolutionMessage)
Chat = _report_view("report_conversations", EvolutionConversation)

# An outbound message that never left (still queued, or refused by the gateway) was not sent.
_NOT_SENT = ("queued", "ERROR")


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


def _chat_scope(company_id: uuid.UUID, filters: ReportFilters) -> list[ColumnElement[bool]]:
    """The conversations a report covers: the company's, narrowed to a number."""
    conditions = [Chat.company_id == company_id]
    if filters.instance_id is not None:
        conditions.append(Chat.instance_id == filters.instance_id)
    return conditions


def _message_scope(filters: ReportFilters) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    if filters.agent_id is not None or filters.department_id is not None:
        # An agent's (a department's) messages: those exchanged during a cycle they held (it
        # was served in).
        held = aliased(Cycle)
        during = [
            held.conversation_id == Message.conversation_id,
            held.started_at <= Message.message_timestamp,
            or_(held.closed_at.is_(None), held.closed_at >= Message.message_timestamp),
        ]
        if filters.agent_id is not None:
            during.append(held.assignee_id == filters.agent_id)
        if filters.department_id is not None:
            during.append(held.department_id == filters.department_id)
        conditions.append(exists().where(*during))
    return conditions


def _started(filters: ReportFilters) -> ColumnElement[bool]:
    return and_(Cycle.started_at >= filters.start, Cycle.started_at < filters.end)


def _closed(filters: ReportFilters) -> ColumnElement[bool]:
    return and_(Cycle.closed_at >= filters.start, Cycle.closed_at < filters.end)


def _asked(filters: ReportFilters) -> ColumnElement[bool]:
    # A rating belongs to the service it rates, which was closed when the survey was sent
    # (surveys/service.ask_on_close sets survey_sent_at to the close): attributed by
    # survey_sent_at, a rating falls in the period its cycle's resolution time does, and the
    # answers are a part of the questions sent (a response rate), even when the customer
    # answered after the period ended (up to a day later, surveys ANSWER_WINDOW).
    return and_(
        Cycle.survey_sent_at >= filters.start,
        Cycle.survey_sent_at < filters.end,
    )


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


def _cycles(company_id: uuid.UUID, filters: ReportFilters) -> Select[Any]:
    """The scope's cycles (columns chosen by the caller), joined to their conversation only
    when the report is narrowed to a number: a cycle's chat is its company's (tenant keys,
    migration 0025), and the join cost every report a hash of all the company's chats.

    An agent's cycles are those they held (`conversation_cycles.assignee_id`, migration 0020),
    a department's those served in it (`department_id`, 0037), not those of the chats they
    hold now: a transfer does not move past cycles."""
    statement = select().select_from(Cycle).where(Cycle.company_id == company_id)
    if filters.instance_id is not None:
        statement = statement.join(Chat, Chat.id == Cycle.conversation_id).where(
            *_chat_scope(company_id, filters)
        )
    if filters.agent_id is not None:
        statement = statement.where(Cycle.assignee_id == filters.agent_id)
    if filters.department_id is not None:
        statement = statement.where(Cycle.department_id == filters.department_id)
    return statement


def _messages(company_id: uuid.UUID, filters: ReportFilters) -> Select[Any]:
    """The scope's messages whose WhatsApp time falls in the period (joined to their
    conversation only when the report is narrowed to a number)."""
    statement = (
        select()
        .select_from(Message)
        .where(
            Message.company_id == company_id,
            Message.message_timestamp >= filters.start,
            Message.message_timestamp < filters.end,
            *_message_scope(filters),
        )
    )
    if filters.instance_id is not None:
        statement = statement.join(Chat, Chat.id == Message.conversation_id).where(
            *_chat_scope(company_id, filters)
        )
    return statement


def _sent() -> ColumnElement[bool]:
    return and_(
        Message.from_me,
        Message.status.is_distinct_from(_NOT_SENT[0]),
        Message.status.is_distinct_from(_NOT_SENT[1]),
        # A campaign's messages are counted on the campaign: hundreds of them would drown the
        # service's own volume. The out-of-office reply is nobody's work either.
        *(~Message.message_payload.has_key(mark) for mark in AUTOMATIC_MARKS),
    )


def _percentile(fraction: float, value: ColumnElement[float], where: Any) -> Any:
    return func.percentile_cont(fraction).within_group(value).filter(where)


def _touched(filters: ReportFilters) -> ColumnElement[bool]:
    # Only the cycles the period touches; the (company_id, started_at) index serves most. A
    # survey is sent at the close, so `_asked` adds no cycle today; it is here so a question
    # sent later than the close (across the period's end) would still be counted.
    return _started(filters) | _closed(filters) | _asked(filters)


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


class ReplyFigures(NamedTuple):
    """Reply times of the period: every wait, and the median of each agent's waits and of
    each department's (key None: the chats in no department)."""

    waits: int
    mean: float | None
    median: float | None
    p90: float | None
    median_by_agent: dict[uuid.UUID, float]
    median_by_department: dict[uuid.UUID | None, float]


# Reply time (crm-features.md "Reports"): from each first unanswered customer message to the
# next human reply. A wait starts at an inbound message whose previous message in the cycle
# (automatic messages and sends that never left aside) is none or a reply of ours, so it is
# computed over each cycle touching the period from the cycle's start: a cycle begins with
# a wait by definition, and nothing before it matters. Both come from one window over the
# cycle read backwards, so its messages are sorted once: the next reply is a running minimum
# (a frame that starts at the partition's edge is aggregated incrementally, not once per
# row), and the previous message is the next row read backwards (`lead`, which ignores the
# frame). Waits that started in the period count; one not answered yet has no time. Each
# wait goes to the agent who held the cycle, as first response does, and to the department
# the cycle was served in (the summary's per-department rows). With business hours a wait
# counts only its time in opening hours ({seconds}: the calendar is joined only then). A
# cycle's chat is read only to narrow the report to a number ({number}): joined to every
# cycle, it was 0.1 s of 1.1 s at 100,000 cycles.
_REPLY_TIMES_SQL = """
with cycles as (
  select cc.id, cc.conversation_id, cc.started_at, cc.closed_at, cc.assignee_id, cc.department_id
  from app.report_cycles cc
  where cc.company_id = :company_id
    and cc.started_at < :end and (cc.closed_at is null or cc.closed_at >= :start)
    {number}
    and (cast(:department_id as uuid) is null or cc.department_id = :department_id)
    and (cast(:agent_id as uuid) is null or cc.assignee_id = :agent_id)
),
exchanged as (
  select cy.id as cycle_id, cy.assignee_id, cy.department_id, m.id, m.message_timestamp as at,
         m.from_me
  from cycles cy
  join app.report_messages m on m.conversation_id = cy.conversation_id
   and m.message_timestamp >= cy.started_at
   and (cy.closed_at is null or m.message_timestamp <= cy.closed_at)
  where not m.from_me
     or (m.status is distinct from 'queued' and m.status is distinct from 'ERROR'
         and not m.message_payload ?| cast(:automatic as text[]))
),
waits as (
  select assignee_id, department_id, at, from_me,
         lead(from_me) over backwards as after_ours,
         min(case when from_me then at end) over backwards as replied_at
  from exchanged
  window backwards as (partition by cycle_id order by at desc, id desc
                       rows between unbounded preceding and 1 preceding)
),
answered as (
  select w.assignee_id, w.department_id, {seconds} as seconds
  from waits w
  {calendar}
  where not w.from_me and (w.after_ours is null or w.after_ours)
    and w.at >= :start and w.at < :end and w.replied_at is not null
  -- Not merged into the aggregate below, which would compute each wait's seconds once per
  -- aggregate reading them.
  offset 0
)
select assignee_id, department_id,
       grouping(assignee_id, department_id) = 3 as overall,
       grouping(department_id) = 0 as by_department,
       count(*) as waits,
       avg(seconds) as mean,
       percentile_cont(0.5) within group (order by seconds) as median,
       percentile_cont(0.9) within group (order by seconds) as p90
from answered
group by grouping sets ((), (assignee_id), (department_id))
"""
_NUMBER = """and exists (select from app.report_conversations c
                where c.id = cc.conversation_id and c.instance_id = :instance_id)"""
_PLAIN_SECONDS = "extract(epoch from w.replied_at - w.at)::float8"
_BUSINESS_SECONDS = """case when since.day is null or until.day is null
              then app.business_seconds(w.at, w.replied_at, :opens, :closes, :breaks_from,
                                        :breaks_until, :holidays, :zone)
              else greatest(0,
                app.business_clock(w.replied_at, until.before, until.opens_at, until.closes_at,
                                   until.break_from, until.break_until)
                - app.business_clock(w.at, since.before, since.opens_at, since.closes_at,
                                     since.break_from, since.break_until))
         end"""
_CALENDAR_DAYS = """-- Each end's calendar day (repository._Clock).
  left join app.business_calendar(:calendar_from, :calendar_to, :opens, :closes, :breaks_from,
                                  :breaks_until, :holidays, :zone) since
    on since.day = cast(timezone(:zone, w.at) as date)
  left join app.business_calendar(:calendar_from, :calendar_to, :opens, :closes, :breaks_from,
                                  :breaks_until, :holidays, :zone) until
    on until.day = cast(timezone(:zone, w.replied_at) as date)"""


@functools.cache
def _reply_times(business_hours: bool, by_number: bool) -> TextClause:
    """The reply-times statement counting every hour or only the opening hours, over all the
    company's numbers or one."""
    statement = text(
        _REPLY_TIMES_SQL.format(
            seconds=_BUSINESS_SECONDS if business_hours else _PLAIN_SECONDS,
            calendar=_CALENDAR_DAYS if business_hours else "",
            number=_NUMBER if by_number else "",
        )
    )
    if not business_hours:
        return statement
    return statement.bindparams(
        *(bindparam(name, type_=kind) for name, kind in _OPENING_TYPES.items()),
        bindparam("calendar_from", type_=Date),
        bindparam("calendar_to", type_=Date),
    )


async def reply_figures(
    session: AsyncSession, company_id: uuid.UUID, filters: ReportFilters
) -> ReplyFigures:
    """Reply times of the waits that started in the period, overall and per agent."""
    params: dict[str, Any] = {
        "company_id": company_id,
        "start": filters.start,
        "end": filters.end,
        "department_id": filters.department_id,
        "agent_id": filters.agent_id,
        "automatic": list(AUTOMATIC_MARKS),
    }
    if filters.instance_id is not None:
        params["instance_id"] = filters.instance_id
    if filters.business_hours is not None:
        params |= {
            **_opening(filters),
            "zone": filters.timezone.key,
            **dict(zip(("calendar_from", "calendar_to"), _calendar_span(filters), strict=True)),
        }
    statement = _reply_times(filters.business_hours is not None, filters.instance_id is not None)
    rows = await session.execute(statement, params)
    overall: Row[Any] | None = None
    by_agent: dict[uuid.UUID, float] = {}
    by_department: dict[uuid.UUID | None, float] = {}
    for row in rows:
        if row.overall:
            overall = row
        elif row.by_department:
            # A null department here is the group of chats in none, not a rolled-up total.
            by_department[row.department_id] = row.median
        elif row.assignee_id is not None:
            by_agent[row.assignee_id] = row.median
    if overall is None:  # no wait at all: the empty grouping set still answers one row
        return ReplyFigures(0, None, None, None, by_agent, by_department)
    return ReplyFigures(
        overall.waits, overall.mean, overall.median, overall.p90, by_agent, by_department
    )


class DayFigures(NamedTuple):
    """One calendar day's volume (a day with nothing has no row)."""

    day: date
    cycles_started: int
    cycles_closed: int
    messages_inbound: int
    messages_outbound: int


def _local(moment: Any, filters: ReportFilters) -> ColumnElement[Any]:
    """A timestamp as the company's wall clock reads it (timestamp without zone).

    The zone is one named parameter wherever it appears, so the grouped expression and the
    selected one are the same to Postgres (a fresh parameter each time is "must appear in the
    GROUP BY clause")."""
    return func.timezone(bindparam("zone", filters.timezone.key, type_=String), moment)


def _local_day(moment: Any, filters: ReportFilters) -> ColumnElement[date]:
    return cast(_local(moment, filters), Date)


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


def _written(moment: Any, filters: ReportFilters) -> ColumnElement[str]:
    """A time as the exports write it (`spreadsheets.local_moment`: DD/MM/AAAA HH:MM:SS on the
    company's clock; null stays null), written by Postgres: in Python the three times of
    100,000 cycles took 0.7 s of the server's CPU (bench/reports.py), with the event loop
    blocked meanwhile."""
    return func.to_char(_local(moment, filters), "DD/MM/YYYY HH24:MI:SS", type_=String)


def export_statement(company_id: uuid.UUID, filters: ReportFilters) -> Select[Any]:
    """One row per cycle started or closed in the period, oldest start first, its times as
    the file writes them; the department is the one the cycle was served in, the grade the
    customer's answer to the survey (if any)."""
    clock = _Clock(filters)
    # The period's cycles first, each duration computed there; OFFSET 0 keeps them apart from
    # the lookups of names. Planned together, the policies' estimates of the contacts,
    # numbers and people (a row or two) had Postgres walk all the chats in nested loops, one
    # index lookup of cycles per chat and the whole staff scanned per cycle: a 7-day export
    # over 180 days of history took 266 ms instead of 106 (bench/reports.py --period 7).
    cycles = (
        clock.joined(
            _cycles(company_id, filters)
            .add_columns(
                Cycle.id,
                Cycle.conversation_id,
                Cycle.assignee_id,
                Cycle.department_id,
                Cycle.started_at,
                Cycle.first_human_reply_at,
                Cycle.closed_at,
                _first_response(clock).label("first_response"),
                _resolution(clock).label("resolution"),
                Cycle.rating,
            )
            .where(_touched(filters))
        )
        .offset(0)
        .subquery("touched")
    )
    assignee = Profile
    return (
        select(
            cycles.c.conversation_id,
            func.coalesce(func.nullif(Contact.name, ""), Chat.subject),
            Contact.phone_e164,
            # The number's WhatsApp name, as the panel shows it; the gateway's id until known.
            func.coalesce(
                func.nullif(EvolutionInstance.profile_name, ""), EvolutionInstance.external_id
            ),
            func.coalesce(func.nullif(assignee.display_name, ""), assignee.email),
            _written(cycles.c.started_at, filters),
            _written(cycles.c.first_human_reply_at, filters),
            _written(cycles.c.closed_at, filters),
            cycles.c.first_response,
            cycles.c.resolution,
            Department.name,
            cycles.c.rating,
        )
        .select_from(cycles)
        .join(Chat, Chat.id == cycles.c.conversation_id)
        .join(EvolutionInstance, EvolutionInstance.id == Chat.instance_id)
        .outerjoin(Contact, Contact.id == Chat.contact_id)
        .outerjoin(assignee, assignee.id == cycles.c.assignee_id)
        .outerjoin(Department, Department.id == cycles.c.department_id)
        .where(*_chat_scope(company_id, filters))
        .order_by(cycles.c.started_at, cycles.c.id)
    )


async def stream_records(
    session: AsyncSession, statement: Select[Any], batch: int
) -> AsyncIterator[Sequence[Row[Any]]]:
    """`stream_rows` read as plain rows, without the ORM's per-row loading (a tenth of the
    export's time at 100,000 cycles): for statements of columns only."""
    connection = await session.connection()
    result = await connection.stream(statement.execution_options(yield_per=batch))
    async for partition in result.partitions(batch):
        yield partition


async def stream_rows(
    session: AsyncSession, statement: Select[Any], batch: int
) -> AsyncIterator[Sequence[Row[Any]]]:
    """Rows of a statement in batches, from a server-side cursor (memory stays flat)."""
    result = await session.stream(statement.execution_options(yield_per=batch))
    async for partition in result.partitions(batch):
        yield partition
