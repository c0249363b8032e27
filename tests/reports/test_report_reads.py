"""How many times a report reads the cycles and the messages: each read costs a scan, a join and
(with business hours) the calendar lookups of every row. Read once per figure, the summary of
100,000 cycles took about twice as long (bench/reports.py). The figures themselves are the
other tests'."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import date
from typing import Any

import pytest
from sqlalchemy import event, text

from tests.conftest import identity_of
from tests.reports.helpers import BRT, Shop
from zapcrm.db import Database
from zapcrm.reports import repository, service

FIRST, LAST = date(2026, 3, 1), date(2026, 3, 7)


async def _sent(db: Database, work: Callable[[], Awaitable[Any]]) -> list[str]:
    """The SQL of every statement SQLAlchemy sends while `work` runs."""
    return [statement for statement, _ in await _sent_with_parameters(db, work)]


async def _sent_with_parameters(
    db: Database, work: Callable[[], Awaitable[Any]]
) -> list[tuple[str, Any]]:
    """Every statement SQLAlchemy sends while `work` runs, with its parameters."""
    statements: list[tuple[str, Any]] = []

    def record(*args: Any) -> None:
        statements.append((args[2], args[3]))

    event.listen(db.engine.sync_engine, "before_cursor_execute", record)
    try:
        await work()
    finally:
        event.remove(db.engine.sync_engine, "before_cursor_execute", record)
    return statements


def _reading(statements: list[str], relation: str) -> int:
    return sum(relation in statement for statement in statements)


@pytest.mark.parametrize("business_hours", [False, True])
async def test_the_summary_reads_the_cycles_and_the_messages_twice_and_no_chat(
    db: Database, shop: Shop, business_hours: bool
) -> None:
    identity = identity_of(shop.supervisor)

    async def summary() -> None:
        async with db.tenant_session(identity.claims) as session:
            filters = await service.resolve_filters(
                session, identity, FIRST, LAST, business_hours=business_hours
            )
            await service.summary(session, identity, filters)

    statements = await _sent(db, summary)
    # The totals, per-agent and per-department figures in one read (grouping sets), the reply
    # times in another; the messages counted in one, walked for reply times in the other.
    assert _reading(statements, "app.report_cycles") == 2
    assert _reading(statements, "app.report_messages") == 2
    # A cycle's and a message's chat is their company's (tenant keys, migration 0025): the
    # chat is read only to narrow the report to a number.
    assert _reading(statements, "app.report_conversations") == 0
    narrowed = service.period_filters(BRT, FIRST, LAST, instance_id=shop.loja)

    async def by_number() -> None:
        async with db.tenant_session(identity.claims) as session:
            await service.summary(session, identity, narrowed)

    assert _reading(await _sent(db, by_number), "app.report_conversations") == 3


async def test_the_volume_reads_the_messages_once(db: Database, shop: Shop) -> None:
    identity = identity_of(shop.supervisor)
    filters = service.period_filters(BRT, FIRST, LAST)

    async def volume() -> None:
        async with db.tenant_session(identity.claims) as session:
            await service.volume(session, identity, filters)

    statements = await _sent(db, volume)
    # Per day and per weekday-hour from one count per hour of the company's clock.
    assert len(statements) == 1
    assert statements[0].count("FROM app.report_messages") == 1
    assert "app.report_conversations" not in statements[0]


async def test_the_export_writes_its_times_in_the_statement(db: Database, shop: Shop) -> None:
    # 300,000 times formatted in Python were most of an export of 100,000 cycles; the cells
    # come out of Postgres already as the file writes them (test_export checks the text).
    identity = identity_of(shop.supervisor)
    plan = service.plan_export(identity, service.period_filters(BRT, FIRST, LAST))
    rows: list[Any] = []
    async with db.tenant_session(identity.claims) as session:
        async for partition in repository.stream_records(session, plan.statement, 100):
            rows.extend(partition)
    assert rows
    for row in rows:
        assert all(moment is None or isinstance(moment, str) for moment in row[5:8])


async def test_the_periods_closes_and_messages_are_found_by_index_not_by_reading_the_history(
    db: Database, shop: Shop
) -> None:
    # Migration 0054. Without an index on closed_at, the cycles closed in the period (and
    # those open across it) were found by reading every cycle of the company; without one on
    # (company_id, message_timestamp), the period's messages by reading all of them. With
    # scans priced out (the seeded week is too small for the planner to prefer an index),
    # each statement of the page reading those finds them through the indexes.
    identity = identity_of(shop.supervisor)

    async def page() -> None:
        async with db.tenant_session(identity.claims) as session:
            filters = await service.resolve_filters(session, identity, FIRST, LAST)
            await service.summary(session, identity, filters)
            await service.volume(session, identity, filters)

    plans: list[str] = []
    async with db.tenant_session(identity.claims) as session:
        await session.execute(text("set local enable_seqscan = off"))
        connection = await session.connection()
        for sql, parameters in await _sent_with_parameters(db, page):
            if "app.report_cycles" in sql or "app.report_messages" in sql:
                explained = await connection.exec_driver_sql(f"explain {sql}", parameters)
                plans.append("\n".join(row[0] for row in explained))
    # The summary's cycles and the volume's closes (the reply times' cycles open across the
    # period are found by either index in a table this small).
    assert sum("conversation_cycles_company_closed_idx" in plan for plan in plans) == 2
    # The summary's messages, its reply times' and the volume's.
    assert sum("evolution_messages_company_time_idx" in plan for plan in plans) == 3
