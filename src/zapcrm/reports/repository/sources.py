"""What every report reads and how it is narrowed: the cycles, messages and chats through
migration 0050's report views, and the filters of a report's scope and period."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import (
    Column,
    ColumnElement,
    MetaData,
    Select,
    Table,
    and_,
    exists,
    or_,
    select,
)
from sqlalchemy.orm import aliased

from zapcrm.messaging.schemas import AUTOMATIC_MARKS
from zapcrm.models import ConversationCycle, EvolutionConversation, EvolutionMessage
from zapcrm.reports.schemas import ReportFilters


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


def _touched(filters: ReportFilters) -> ColumnElement[bool]:
    # Only the cycles the period touches: three index ranges, (company_id, started_at),
    # (company_id, closed_at) (migration 0054) and the surveyed one, for a short period. A
    # survey is sent at the close, so `_asked` adds no cycle today; it is here so a question
    # sent later than the close (across the period's end) would still be counted.
    return _started(filters) | _closed(filters) | _asked(filters)
