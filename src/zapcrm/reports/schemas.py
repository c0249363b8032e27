"""Response bodies of the reports API and the filters a report is computed over."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from pydantic import BaseModel, Field

from zapcrm.hours.schedule import Schedule

MAX_PERIOD_DAYS = 366
DEFAULT_PERIOD_DAYS = 7
# The survey's scale, and the grades CSAT counts as satisfied ("satisfied" and "very
# satisfied" on a 1-5 scale: the industry's usual definition).
GRADES = (1, 2, 3, 4, 5)
SATISFIED_GRADE = 4


@dataclass(frozen=True)
class ReportFilters:
    """A period of whole calendar days in the company's zone, as the half-open UTC range
    [start, end), the optional instance, agent and department the report is narrowed to, and the
    opening hours its times are counted in (None: every hour of the clock counts)."""

    first_day: date
    last_day: date
    timezone: ZoneInfo
    start: datetime
    end: datetime
    instance_id: uuid.UUID | None = None
    agent_id: uuid.UUID | None = None
    department_id: uuid.UUID | None = None
    business_hours: Schedule | None = None


class PeriodOut(BaseModel):
    """The calendar days reported on (both included), the zone they are read in, and whether
    the times count only the opening hours."""

    from_date: date = Field(serialization_alias="from")
    to_date: date = Field(serialization_alias="to")
    timezone: str
    business_hours: bool = Field(
        default=False,
        description="the times count only the hours the business is open (holidays closed)",
    )


class DurationStats(BaseModel):
    """Mean, median and 90th percentile of a duration, in seconds (null: none to measure)."""

    count: int = Field(description="cycles (waits, for reply times) the figures are computed over")
    mean_seconds: float | None
    median_seconds: float | None
    p90_seconds: float | None


class RatingStats(BaseModel):
    """The satisfaction survey over the cycles whose customer was asked in the period (the
    question goes out at the close, so these are cycles closed in the period); percentages from
    0 to 100, null when there is nothing to divide by."""

    surveys_sent: int
    surveys_answered: int
    response_rate_percent: float | None = Field(description="answered / sent x 100")
    average_rating: float | None = Field(description="mean grade of the answers, 1 to 5")
    csat_percent: float | None = Field(
        description="share of the answers with grade 4 or 5, x 100 (CSAT's usual definition)"
    )


class GradeCount(BaseModel):
    """How many answers gave one grade."""

    grade: int = Field(ge=1, le=5)
    count: int


class SatisfactionStats(RatingStats):
    """The period's satisfaction survey and how its answers spread over the five grades."""

    grades: list[GradeCount] = Field(description="grades 1 to 5, in order, zeros included")


class AgentSummary(BaseModel):
    """One user's work in the period."""

    agent_id: uuid.UUID
    name: str
    conversations_handled: int = Field(
        description="cycles started in the period in conversations assigned to this user"
    )
    cycles_closed: int = Field(description="cycles this user closed in the period")
    messages_sent: int = Field(description="messages this user sent from the panel or API")
    median_first_response_seconds: float | None
    median_reply_seconds: float | None = Field(
        description="median reply time of the waits in cycles this user held"
    )
    satisfaction: RatingStats = Field(description="the survey of the cycles this user held")


class DepartmentSummary(BaseModel):
    """One department's service in the period, by the department each cycle was served in: a
    chat moved to another department leaves its past cycles where they were."""

    department_id: uuid.UUID | None = Field(description="null: the chats in no department")
    name: str | None = Field(description="null for the chats in no department")
    conversations_handled: int = Field(
        description="cycles started in the period in this department's conversations"
    )
    cycles_closed: int = Field(description="cycles of its conversations closed in the period")
    median_first_response_seconds: float | None
    median_resolution_seconds: float | None
    median_reply_seconds: float | None = Field(
        description="median reply time of the waits in its conversations"
    )
    satisfaction: RatingStats = Field(description="the survey of its conversations' cycles")


class ReportSummary(BaseModel):
    """The service report of a period (every time metric is per service cycle)."""

    period: PeriodOut
    cycles_started: int
    cycles_closed: int
    cycles_open: int = Field(description="cycles started in the period and not closed yet")
    first_response: DurationStats = Field(
        description="cycle start -> first human reply, over cycles started in the period"
    )
    resolution: DurationStats = Field(
        description="cycle start -> close, over cycles closed in the period"
    )
    reply: DurationStats = Field(
        description="each first unanswered customer message -> the next human reply, over"
        " waits that started in the period"
    )
    messages_inbound: int
    messages_outbound: int
    satisfaction: SatisfactionStats = Field(
        description="the satisfaction survey of the cycles whose customer was asked in the"
        " period, whenever they answered"
    )
    agents: list[AgentSummary]
    departments: list[DepartmentSummary] = Field(
        description="every department of the company in menu order, then the chats in none"
        " (left out when the report is narrowed to one department)"
    )


class DayVolume(BaseModel):
    """One calendar day of the period (in the company's zone)."""

    day: date
    cycles_started: int
    cycles_closed: int
    messages_inbound: int
    messages_outbound: int


class HourTraffic(BaseModel):
    """Customer messages received in one hour of one weekday, summed over the period."""

    weekday: int = Field(ge=1, le=7, description="ISO weekday: 1 Monday ... 7 Sunday")
    hour: int = Field(ge=0, le=23, description="hour on the company's clock")
    messages_inbound: int


class ReportVolume(BaseModel):
    """The period's volume day by day, and when customers write (weekday x hour)."""

    period: PeriodOut
    days: list[DayVolume] = Field(description="every day of the period, oldest first")
    traffic: list[HourTraffic] = Field(
        description="all 168 weekday-hour cells, Monday 00h first, for staffing by demand"
    )
