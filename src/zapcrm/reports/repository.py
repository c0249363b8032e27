"""SQL for reports: the summary, per-agent and per-department aggregates (satisfaction survey
included), the volume per day and hour of the week, and the per-cycle export rows.

Every statement filters by company explicitly; RLS decides what the caller may read. Times are
aggregated in Postgres (`percentile_cont`), never by looping over rows in Python.
"""

from __future__ import annotations

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
    Text,
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
    union,
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


def _message_scope(company_id: uuid.UUID, filters: ReportFilters) -> list[ColumnElement[bool]]:
    conditions = _chat_scope(company_id, filters)
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
    """The scope's cycles joined to their conversation (columns chosen by the caller).

    An agent's cycles are those they held (`conversation_cycles.assignee_id`, migration 0020),
    a department's those served in it (`department_id`, 0037), not those of the chats they
    hold now: a transfer does not move past cycles."""
    conditions = [Cycle.company_id == company_id, *_chat_scope(company_id, filters)]
    if filters.agent_id is not None:
        conditions.append(Cycle.assignee_id == filters.agent_id)
    if filters.department_id is not None:
        conditions.append(Cycle.department_id == filters.department_id)
    return (
        select().select_from(Cycle).join(Chat, Chat.id == Cycle.conversation_id).where(*conditions)
    )


def _messages(company_id: uuid.UUID, filters: ReportFilters) -> Select[Any]:
    """The scope's messages whose WhatsApp time falls in the period."""
    return (
        select()
        .select_from(Message)
        .join(Chat, Chat.id == Message.conversation_id)
        .where(
            Message.company_id == company_id,
            Message.message_timestamp >= filters.start,
            Message.message_timestamp < filters.end,
            *_message_scope(company_id, filters),
        )
    )


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


def _survey_stats(filters: ReportFilters) -> list[Any]:
    """The survey aggregates over the cycles asked in the period, labelled for `_survey`."""
    asked = _asked(filters)
    rating = Cycle.rating
    return [
        func.count().filter(asked).label("surveys_sent"),
        func.count().filter(asked, rating.is_not(None)).label("surveys_answered"),
        # avg() of a smallint is numeric; the figures are floats like the times.
        cast(func.avg(rating).filter(asked), Float).label("rating_mean"),
        func.count().filter(asked, rating >= SATISFIED_GRADE).label("satisfied"),
    ]


def _cycle_stats(filters: ReportFilters, clock: _Clock) -> list[Any]:
    """The cycle aggregates over `_touched` cycles, labelled: counts started, closed, open
    and answered, and first response (over cycles started in the period) and resolution
    (over cycles closed in it). One definition for the summary's totals and the
    per-department rows, so the rows and the totals cannot drift apart."""
    started, closed = _started(filters), _closed(filters)
    replied = and_(started, Cycle.first_human_reply_at.is_not(None))
    first_response, resolution = _first_response(clock), _resolution(clock)
    return [
        func.count().filter(started).label("started"),
        func.count().filter(closed).label("closed"),
        func.count().filter(started, Cycle.closed_at.is_(None)).label("open"),
        func.count().filter(replied).label("replied"),
        func.avg(first_response).filter(replied).label("fr_mean"),
        _percentile(0.5, first_response, replied).label("fr_median"),
        _percentile(0.9, first_response, replied).label("fr_p90"),
        func.avg(resolution).filter(closed).label("res_mean"),
        _percentile(0.5, resolution, closed).label("res_median"),
        _percentile(0.9, resolution, closed).label("res_p90"),
        *_survey_stats(filters),
    ]


async def cycle_figures(
    session: AsyncSession, company_id: uuid.UUID, filters: ReportFilters
) -> CycleFigures:
    """Counts, response and resolution times, the survey's figures and grades, and message
    volumes, in one statement."""
    asked = _asked(filters)
    grades = [
        func.count().filter(asked, Cycle.rating == grade).label(f"grade_{grade}")
        for grade in GRADES
    ]
    clock = _Clock(filters)
    cycles = clock.joined(
        _cycles(company_id, filters)
        .add_columns(*_cycle_stats(filters, clock), *grades)
        .where(_touched(filters))
    ).subquery()
    messages = (
        _messages(company_id, filters)
        .add_columns(
            func.count().filter(~Message.from_me).label("inbound"),
            func.count().filter(_sent()).label("outbound"),
        )
        .subquery()
    )
    statement = select(
        cycles.c.started,
        cycles.c.closed,
        cycles.c.open,
        cycles.c.replied,
        cycles.c.fr_mean,
        cycles.c.fr_median,
        cycles.c.fr_p90,
        cycles.c.res_mean,
        cycles.c.res_median,
        cycles.c.res_p90,
        messages.c.inbound,
        messages.c.outbound,
        cycles.c.surveys_sent,
        cycles.c.surveys_answered,
        cycles.c.rating_mean,
        cycles.c.satisfied,
        *(cycles.c[f"grade_{grade}"] for grade in GRADES),
    ).select_from(cycles.join(messages, literal_column("true")))
    row = (await session.execute(statement)).one()
    answers = {grade: row._mapping[f"grade_{grade}"] for grade in GRADES}
    return CycleFigures._make([*row[:12], _survey(row), answers])


async def agent_figures(
    session: AsyncSession, company_id: uuid.UUID, filters: ReportFilters
) -> list[AgentFigures]:
    """One row per user who handled, closed or sent anything in the period, or held a cycle
    whose customer was asked about it, by name."""
    started = _started(filters)
    assignee = Cycle.assignee_id
    clock = _Clock(filters)
    handled = clock.joined(
        _cycles(company_id, filters)
        .add_columns(
            assignee.label("agent_id"),
            func.count().label("handled"),
            _percentile(
                0.5,
                _first_response(clock),
                Cycle.first_human_reply_at.is_not(None),
            ).label("median_first_response"),
        )
        .where(started, assignee.is_not(None))
        .group_by(assignee)
    ).subquery()
    closers = (
        _cycles(company_id, filters)
        .add_columns(Cycle.closed_by.label("agent_id"), func.count().label("closed"))
        .where(_closed(filters), Cycle.closed_by.is_not(None))
        .group_by(Cycle.closed_by)
        .subquery()
    )
    senders = (
        _messages(company_id, filters)
        .add_columns(Message.sent_by.label("agent_id"), func.count().label("sent"))
        .where(_sent(), Message.sent_by.is_not(None))
        .group_by(Message.sent_by)
        .subquery()
    )
    # The survey credits the agent who held the cycle, as first response does.
    rated = (
        _cycles(company_id, filters)
        .add_columns(assignee.label("agent_id"), *_survey_stats(filters))
        .where(_asked(filters), assignee.is_not(None))
        .group_by(assignee)
        .subquery()
    )
    agents = union(
        select(handled.c.agent_id),
        select(closers.c.agent_id),
        select(senders.c.agent_id),
        select(rated.c.agent_id),
    ).subquery()
    name = func.coalesce(func.nullif(Profile.display_name, ""), Profile.email)
    statement = (
        select(
            agents.c.agent_id,
            name,
            func.coalesce(handled.c.handled, 0),
            func.coalesce(closers.c.closed, 0),
            func.coalesce(senders.c.sent, 0),
            handled.c.median_first_response,
            rated.c.surveys_sent,
            rated.c.surveys_answered,
            rated.c.rating_mean,
            rated.c.satisfied,
        )
        .select_from(agents)
        .join(Profile, Profile.id == agents.c.agent_id)
        .outerjoin(handled, handled.c.agent_id == agents.c.agent_id)
        .outerjoin(closers, closers.c.agent_id == agents.c.agent_id)
        .outerjoin(senders, senders.c.agent_id == agents.c.agent_id)
        .outerjoin(rated, rated.c.agent_id == agents.c.agent_id)
        .where(Profile.company_id == company_id)
        .order_by(func.lower(name), agents.c.agent_id)
    )
    if filters.agent_id is not None:
        # The conversations are the agent's; a colleague's message or close in them is not.
        statement = statement.where(agents.c.agent_id == filters.agent_id)
    return [
        AgentFigures._make([*row[:6], _survey(row)])
        for row in (await session.execute(statement)).all()
    ]


async def department_figures(
    session: AsyncSession, company_id: uuid.UUID, filters: ReportFilters
) -> list[DepartmentFigures]:
    """One row per department of the company in menu order (zeros for a quiet one), then one
    for the chats in no department; only the department the report is narrowed to, if any.

    A cycle counts in the department it was served in (migration 0037): a chat moved to
    another department leaves its past cycles where they were."""
    department = Cycle.department_id
    clock = _Clock(filters)
    per = clock.joined(
        _cycles(company_id, filters)
        .add_columns(department.label("department_id"), *_cycle_stats(filters, clock))
        .where(_touched(filters))
        .group_by(department)
    ).subquery()
    teams = select(
        Department.id.label("id"), Department.name.label("name"), Department.position
    ).where(Department.company_id == company_id)
    if filters.department_id is not None:
        rows = teams.where(Department.id == filters.department_id).subquery()
    else:
        # The chats in none get a row of their own, after the departments (null id).
        nobody = select(cast(null(), Department.id.type), cast(null(), Text), cast(null(), Integer))
        rows = union_all(teams, nobody).subquery()
    statement = (
        select(
            rows.c.id,
            rows.c.name,
            func.coalesce(per.c.started, 0),
            func.coalesce(per.c.closed, 0),
            per.c.fr_median,
            per.c.res_median,
            per.c.surveys_sent,
            per.c.surveys_answered,
            per.c.rating_mean,
            per.c.satisfied,
        )
        .select_from(rows)
        .outerjoin(per, per.c.department_id.is_not_distinct_from(rows.c.id))
        .order_by(rows.c.id.is_(None), rows.c.position, func.lower(rows.c.name), rows.c.id)
    )
    return [
        DepartmentFigures._make([*row[:6], _survey(row)])
        for row in (await session.execute(statement)).all()
    ]


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
# a wait by definition, and nothing before it matters. The next reply is a running minimum
# over the cycle read backwards (a frame that starts at the partition's edge is aggregated
# incrementally, not once per row). Waits that started in the period count; one not answered
# yet has no time. Each wait goes to the agent who held the cycle, as first response does,
# and to the department the cycle was served in (the summary's per-department rows). With
# business hours (`opens` given) a wait counts only its time in opening hours.
_REPLY_TIMES = text(
    """
with cycles as (
  select cc.id, cc.conversation_id, cc.started_at, cc.closed_at, cc.assignee_id, cc.department_id
  from app.report_cycles cc
  join app.report_conversations c on c.id = cc.conversation_id
  where cc.company_id = :company_id and c.company_id = :company_id
    and cc.started_at < :end and (cc.closed_at is null or cc.closed_at >= :start)
    and (cast(:instance_id as uuid) is null or c.instance_id = :instance_id)
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
         lag(from_me) over (partition by cycle_id order by at, id) as after_ours,
         min(case when from_me then at end) over (
           partition by cycle_id order by at desc, id desc
           rows between unbounded preceding and 1 preceding) as replied_at
  from exchanged
),
answered as (
  select w.assignee_id, w.department_id,
         case when cast(:opens as time[]) is null
              then extract(epoch from w.replied_at - w.at)::float8
              when since.day is null or until.day is null
              then app.business_seconds(w.at, w.replied_at, :opens, :closes, :breaks_from,
                                        :breaks_until, :holidays, :zone)
              else greatest(0,
                app.business_clock(w.replied_at, until.before, until.opens_at, until.closes_at,
                                   until.break_from, until.break_until)
                - app.business_clock(w.at, since.before, since.opens_at, since.closes_at,
                                     since.break_from, since.break_until))
         end as seconds
  from waits w
  -- Each end's calendar day (repository._Clock); empty without business hours.
  left join app.business_calendar(:calendar_from, :calendar_to, :opens, :closes, :breaks_from,
                                  :breaks_until, :holidays, :zone) since
    on since.day = cast(timezone(:zone, w.at) as date)
  left join app.business_calendar(:calendar_from, :calendar_to, :opens, :closes, :breaks_from,
                                  :breaks_until, :holidays, :zone) until
    on until.day = cast(timezone(:zone, w.replied_at) as date)
  where not w.from_me and (w.after_ours is null or w.after_ours)
    and w.at >= :start and w.at < :end and w.replied_at is not null
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
).bindparams(
    *(bindparam(name, type_=kind) for name, kind in _OPENING_TYPES.items()),
    bindparam("calendar_from", type_=Date),
    bindparam("calendar_to", type_=Date),
)


async def reply_figures(
    session: AsyncSession, company_id: uuid.UUID, filters: ReportFilters
) -> ReplyFigures:
    """Reply times of the waits that started in the period, overall and per agent."""
    rows = await session.execute(
        _REPLY_TIMES,
        {
            "company_id": company_id,
            "start": filters.start,
            "end": filters.end,
            "instance_id": filters.instance_id,
            "department_id": filters.department_id,
            "agent_id": filters.agent_id,
            "automatic": list(AUTOMATIC_MARKS),
            **_opening(filters),
            "zone": filters.timezone.key,
            **dict(zip(("calendar_from", "calendar_to"), _calendar_span(filters), strict=True)),
        },
    )
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


async def daily_figures(
    session: AsyncSession, company_id: uuid.UUID, filters: ReportFilters
) -> list[DayFigures]:
    """Cycles started and closed and messages received and sent per day of the period, in one
    statement: each count is grouped by its own day first, then the days are put together."""
    started_day = _local_day(Cycle.started_at, filters)
    closed_day = _local_day(Cycle.closed_at, filters)
    message_day = _local_day(Message.message_timestamp, filters)
    zero: ColumnElement[int] = literal_column("0")

    def counts(started: Any, closed: Any, inbound: Any, outbound: Any) -> list[Any]:
        return [
            started.label("started"),
            closed.label("closed"),
            inbound.label("inbound"),
            outbound.label("outbound"),
        ]

    starts = (
        _cycles(company_id, filters)
        .add_columns(started_day.label("day"), *counts(func.count(), zero, zero, zero))
        .where(_started(filters))
        .group_by(started_day)
    )
    closes = (
        _cycles(company_id, filters)
        .add_columns(closed_day.label("day"), *counts(zero, func.count(), zero, zero))
        .where(_closed(filters))
        .group_by(closed_day)
    )
    inbound = func.count().filter(~Message.from_me)
    messages = (
        _messages(company_id, filters)
        .add_columns(
            message_day.label("day"), *counts(zero, zero, inbound, func.count().filter(_sent()))
        )
        .group_by(message_day)
    )
    parts = union_all(starts, closes, messages).subquery()
    statement = (
        select(
            parts.c.day,
            *(
                cast(func.sum(parts.c[name]), Integer)
                for name in ("started", "closed", "inbound", "outbound")
            ),
        )
        .group_by(parts.c.day)
        .order_by(parts.c.day)
    )
    return [DayFigures._make(row) for row in (await session.execute(statement)).all()]


async def inbound_by_hour(
    session: AsyncSession, company_id: uuid.UUID, filters: ReportFilters
) -> dict[tuple[int, int], int]:
    """Customer messages of the period per (ISO weekday 1-7, hour 0-23) on the company's clock;
    hours with none are absent."""
    local = _local(Message.message_timestamp, filters)
    weekday = cast(func.extract("isodow", local), Integer)
    hour = cast(func.extract("hour", local), Integer)
    statement = (
        _messages(company_id, filters)
        .add_columns(weekday, hour, func.count())
        .where(~Message.from_me)
        .group_by(weekday, hour)
    )
    return {(row[0], row[1]): row[2] for row in (await session.execute(statement)).all()}


def export_statement(company_id: uuid.UUID, filters: ReportFilters) -> Select[Any]:
    """One row per cycle started or closed in the period, oldest start first; the department
    is the one the cycle was served in, the grade the customer's answer to the survey (if any)."""
    assignee = Profile
    clock = _Clock(filters)
    statement = (
        _cycles(company_id, filters)
        .add_columns(
            Cycle.conversation_id,
            func.coalesce(func.nullif(Contact.name, ""), Chat.subject),
            Contact.phone_e164,
            # The number's WhatsApp name, as the panel shows it; the gateway's id until known.
            func.coalesce(
                func.nullif(EvolutionInstance.profile_name, ""), EvolutionInstance.external_id
            ),
            func.coalesce(func.nullif(assignee.display_name, ""), assignee.email),
            Cycle.started_at,
            Cycle.first_human_reply_at,
            Cycle.closed_at,
            _first_response(clock),
            _resolution(clock),
            Department.name,
            Cycle.rating,
        )
        .join(EvolutionInstance, EvolutionInstance.id == Chat.instance_id)
        .outerjoin(Contact, Contact.id == Chat.contact_id)
        .outerjoin(assignee, assignee.id == Cycle.assignee_id)
        .outerjoin(Department, Department.id == Cycle.department_id)
        .where(_touched(filters))
        .order_by(Cycle.started_at, Cycle.id)
    )
    return clock.joined(statement)


async def stream_rows(
    session: AsyncSession, statement: Select[Any], batch: int
) -> AsyncIterator[Sequence[Row[Any]]]:
    """Rows of a statement in batches, from a server-side cursor (memory stays flat)."""
    result = await session.stream(statement.execution_options(yield_per=batch))
    async for partition in result.partitions(batch):
        yield partition
