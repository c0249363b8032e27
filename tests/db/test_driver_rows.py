"""`driver_rows`: statements run on psycopg directly still behave as SQLAlchemy's would."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError, OperationalError

from zapcrm.db import Database, driver_rows


async def test_rows_come_back_in_the_sessions_transaction(db: Database) -> None:
    async with db.service_session() as session:
        await session.execute(text("create temporary table probe (n int) on commit drop"))
        assert await driver_rows(session, text("insert into probe values (:n)"), {"n": 7}) == []
        rows = await driver_rows(session, text("select n, :label from probe"), {"label": "x%"})
        assert rows == [(7, "x%")]


async def test_database_errors_are_sqlalchemys_so_the_handlers_see_the_same(
    db: Database,
) -> None:
    async with db.sessionmaker() as session, session.begin():
        with pytest.raises(IntegrityError):
            await driver_rows(session, text("insert into companies (name) values (null)"), {})


async def test_a_connection_killed_mid_transaction_is_invalidated_and_reads_as_unavailable(
    db: Database,
) -> None:
    session = db.sessionmaker()
    pid = (await driver_rows(session, text("select pg_backend_pid()"), {}))[0][0]
    async with db.service_session() as killer:
        await killer.execute(text("select pg_terminate_backend(:pid)"), {"pid": pid})
    with pytest.raises(OperationalError) as raised:
        await driver_rows(session, text("select 1"), {})
    assert raised.value.connection_invalidated
    await session.close()
    async with db.service_session() as session:  # the pool hands out a working connection
        assert await driver_rows(session, text("select 1"), {}) == [(1,)]
