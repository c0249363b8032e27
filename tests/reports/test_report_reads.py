"""How many times a report reads the cycles and the messages: each read costs a scan, a join and
(with business hours) the calendar lookups of every row. Read once per figure, the summary of
100,000 cycles took about twice as long (bench/reports.py). The figures themselves are the
other tests'."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import date
from typing import Any

import pytest
from sqlalchemy import event

from tests.conftest import identity_of
from tests.reports.helpers import BRT, Shop
from zapcrm.db import Database
from zapcrm.reports import repository, service

FIRST, LAST = date(2026, 3, 1), date(2026, 3, 7)


async def _sent(db: Database, work: Callable[[], Awaitable[Any]]) -> list[str]:
    """The SQL of every statement SQLAlchemy sends while `work` runs."""
    statements: list[str] = []

    def record(*args: Any) -> None:
        statements.append(args[2])

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
