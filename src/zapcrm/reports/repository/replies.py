"""Reply times: each wait from a customer's first unanswered message to the next human reply,
overall, per agent and per department, in one SQL statement."""

from __future__ import annotations

import functools
import uuid
from typing import Any, NamedTuple

from sqlalchemy import Date, TextClause, bindparam, text
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncSession

from zapcrm.messaging.schemas import AUTOMATIC_MARKS
from zapcrm.reports.repository.clock import _OPENING_TYPES, _calendar_span, _opening
from zapcrm.reports.schemas import ReportFilters


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
# (automatic messages and sends that never left aside) is none or a reply of ours, and ends at
# the next reply of ours in the cycle, in the period or after it. So the waits that started in
# the period need, of each cycle touching it, its messages in the period and two more: the
# last one before the period (none: the cycle's first message is in it) and the first reply
# of ours after it, each looked up in the chat's index (conversation_id, message_timestamp)
# only for the cycles across the period's start or end, and only where it can change a wait
# (`edges`): a cycle whose customer wrote nothing in the period has none there, and one whose
# last message in the period is ours has every wait of the period answered in it. Looked up
# for every cycle across an end, these were 9,500 index probes and four fifths of the buffers
# a 7-day summary of 180 days read (200,000 cycles), nearly all finding nothing to change
# (now 15 probes, 8,300 buffers instead of 41,700). Joined to every message of its cycle
# instead (nothing bounded by the period), the statement hashed the company's whole message
# history to probe it with the cycles: a 7-day summary of 180 days (200,000 cycles) took
# 0.91 s at p50, 0.54 s reading only the period (bench/reports.py --period 7). The period's
# own messages stay a join, bounded by the period, so that the planner estimates them (a
# LATERAL per cycle was estimated at one row each, and the business calendar below was then
# joined by nested loops: 15.7 s for the 30 days of 100,000 cycles). The period's messages
# and cycles come from their own index ranges (migration 0054), or a scan for a period as long
# as the history: the planner's choice.
# Both ends come from one window over the cycle read backwards, so its messages are sorted
# once: the next reply is a running minimum (a frame that starts at the partition's edge is
# aggregated incrementally, not once per row), and the previous message is the next row read
# backwards (`lead`, which ignores the frame). Waits that started in the period count; one
# not answered yet has no time. Each wait goes to the agent who held the cycle, as first
# response does, and to the department the cycle was served in (the summary's per-department
# rows). With business hours a wait counts only its time in opening hours ({seconds}: the
# calendar is joined only then). A cycle's chat is read only to narrow the report to a number
# ({number}): joined to every cycle, it was 0.1 s of 1.1 s at 100,000 cycles.
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
inside as (
  select cy.id as cycle_id, cy.assignee_id, cy.department_id, m.id, m.message_timestamp as at,
         m.from_me
  from cycles cy
  join app.report_messages m on m.conversation_id = cy.conversation_id
   and m.message_timestamp >= :start and m.message_timestamp < :end
   and m.message_timestamp >= cy.started_at
   and (cy.closed_at is null or m.message_timestamp <= cy.closed_at)
  where {counted}
),
edges as (
  -- Whether a cycle's message before the period can decide a wait (its first customer message
  -- in the period comes no later than its first reply of ours there) and whether its reply
  -- after the period can end one (its last customer message comes no earlier than its last
  -- reply there): ties count, so this may look up one message too many, never one too few.
  select cycle_id,
         min(at) filter (where not from_me)
           <= coalesce(min(at) filter (where from_me), 'infinity') as needs_before,
         max(at) filter (where not from_me)
           >= coalesce(max(at) filter (where from_me), '-infinity') as needs_after
  from inside
  group by cycle_id
),
exchanged as (
  select cycle_id, assignee_id, department_id, id, at, from_me from inside
  union all
  select cy.id, cy.assignee_id, cy.department_id, m.id, m.at, m.from_me
  from cycles cy
  join edges e on e.cycle_id = cy.id and e.needs_before
  cross join lateral (
    -- The cycle's last message before the period (its close is in the period or after it).
    select m.id, m.message_timestamp as at, m.from_me
    from app.report_messages m
    where m.conversation_id = cy.conversation_id
      and m.message_timestamp >= cy.started_at and m.message_timestamp < :start
      and {counted}
    order by m.message_timestamp desc, m.id desc
    limit 1
  ) m
  where cy.started_at < :start
  union all
  select cy.id, cy.assignee_id, cy.department_id, m.id, m.at, m.from_me
  from cycles cy
  join edges e on e.cycle_id = cy.id and e.needs_after
  cross join lateral (
    -- The cycle's first reply of ours after the period.
    select m.id, m.message_timestamp as at, m.from_me
    from app.report_messages m
    where m.conversation_id = cy.conversation_id and m.message_timestamp >= :end
      and m.message_timestamp >= cy.started_at
      and (cy.closed_at is null or m.message_timestamp <= cy.closed_at)
      and m.from_me and {counted}
    order by m.message_timestamp
    limit 1
  ) m
  where cy.closed_at is null or cy.closed_at >= :end
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
# A message of the exchange: any of the customer's; of ours, one that left and that a person
# wrote (not a campaign's or an automatic reply).
_COUNTED = """(not m.from_me
            or (m.status is distinct from 'queued' and m.status is distinct from 'ERROR'
                and not m.message_payload ?| cast(:automatic as text[])))"""
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
            counted=_COUNTED,
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
