"""The export: one row per cycle the period touches, written as the file shows it, and the
readers that stream a statement's rows in batches."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Sequence
from typing import Any

from sqlalchemy import ColumnElement, Select, String, func, select, true
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncSession

from zapcrm.models import Contact, Department, EvolutionInstance, Profile
from zapcrm.reports.repository.clock import _Clock, _first_response, _local, _resolution
from zapcrm.reports.repository.sources import Chat, Cycle, _chat_scope, _cycles, _touched
from zapcrm.reports.schemas import ReportFilters


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
    # Each chosen cycle's names by key lookups (LATERAL, kept apart by OFFSET 0 so it is not
    # flattened into a join; inner, so a cycle whose chat is out of scope is still left out).
    # Joined as tables, the view's estimate of the chats (435 of 100,000) had Postgres hash all
    # the company's chats to name a week's 6,794 cycles: 208 of the 397 ms of a 7-day export
    # over 200,000 cycles (bench/reports.py --period 7, EXPLAIN ANALYZE).
    names = (
        select(
            func.coalesce(func.nullif(Contact.name, ""), Chat.subject).label("contact"),
            Contact.phone_e164.label("phone"),
            # The number's WhatsApp name, as the panel shows it; the gateway's id until known.
            func.coalesce(
                func.nullif(EvolutionInstance.profile_name, ""), EvolutionInstance.external_id
            ).label("instance"),
        )
        .select_from(Chat)
        .join(EvolutionInstance, EvolutionInstance.id == Chat.instance_id)
        .outerjoin(Contact, Contact.id == Chat.contact_id)
        .where(Chat.id == cycles.c.conversation_id, *_chat_scope(company_id, filters))
        .offset(0)
        .lateral("names")
    )
    assignee = Profile
    return (
        select(
            cycles.c.conversation_id,
            names.c.contact,
            names.c.phone,
            names.c.instance,
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
        .join(names, true())
        .outerjoin(assignee, assignee.id == cycles.c.assignee_id)
        .outerjoin(Department, Department.id == cycles.c.department_id)
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
