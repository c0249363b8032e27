"""`driver_rows`: statements run on psycopg directly still behave as SQLAlchemy's would."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError, OperationalError

from tests.conftest import Factory, claims_for
from zapcrm.config import ConfigError, Settings, load_settings
from zapcrm.db import Database, driver_rows
from zapcrm.models import Role


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


@pytest.mark.parametrize(
    ("url", "setting", "expected"),
    [
        ("postgresql://u@db.example.supabase.co:5432/postgres", "auto", 5),
        ("postgresql://u@localhost/zapcrm", "auto", 5),
        ("postgresql://u.ref@aws-0-sa-east-1.pooler.supabase.com:6543/postgres", "auto", None),
        ("postgresql://u.ref@aws-0-sa-east-1.pooler.supabase.com:6543/postgres", 2, 2),
        ("postgresql://u@db.example.supabase.co:5432/postgres", "off", None),
    ],
)
def test_prepared_statements_are_off_only_behind_a_transaction_pooler(
    url: str, setting: int | str, expected: int | None
) -> None:
    settings = load_settings(database_url=url, database_prepare_threshold=setting)
    assert settings.prepare_threshold == expected


def test_an_unknown_prepare_threshold_is_refused() -> None:
    with pytest.raises(ConfigError) as refused:
        load_settings(database_prepare_threshold="sometimes")
    message = str(refused.value)
    assert message.startswith("zapcrm: invalid configuration: DATABASE_PREPARE_THRESHOLD: ")
    assert "'auto' or 'off'" in message


async def test_a_statement_run_often_is_prepared_and_rls_still_follows_each_caller(
    settings: Settings, factory: Factory
) -> None:
    """Prepared plans must not carry one tenant's view to the next (Postgres re-plans a
    statement that depends on RLS for another role; the claims are read at run time)."""
    db = Database.from_settings(settings.model_copy(update={"database_prepare_threshold": 1}))
    try:
        seen: dict[uuid.UUID, set[uuid.UUID]] = {}
        companies = [await factory.company() for _ in range(2)]
        for company_id in companies:
            user = await factory.user(company_id, Role.ADMIN)
            for _ in range(3):  # the second run of the statement on a connection is prepared
                async with db.tenant_session(claims_for(user)) as session:
                    rows = await driver_rows(session, text("select id from companies"), {})
                seen.setdefault(company_id, set()).update(row[0] for row in rows)
        assert seen == {company_id: {company_id} for company_id in companies}
    finally:
        await db.dispose()
