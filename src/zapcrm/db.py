"""Postgres access: the async engine and the two kinds of transaction zapcrm opens.

A *tenant* transaction runs as Postgres role `authenticated` with the caller's JWT claims in
`request.jwt.claims`, exactly as Supabase's PostgREST does, so the same RLS policies guard our
backend and any direct Supabase client. A *service* transaction (webhooks, workers, CLI) runs as
the connecting role, which owns the tables and so bypasses RLS; its callers scope by company.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from typing import Any, TypeVar

import orjson
import psycopg
from psycopg.rows import RowFactory, dict_row, tuple_row
from sqlalchemy import TextClause, text
from sqlalchemy.dialects.postgresql.psycopg import PGDialectAsync_psycopg
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from zapcrm.config import Settings
from zapcrm.logging import get_logger

log = get_logger(__name__)

# One round trip sets both: PostgREST does the same with set_config('role', ...), which is
# SET LOCAL ROLE in function form (is_local = true ends both with the transaction).
_ENTER_TENANT = text(
    "select set_config('role', 'authenticated', true), "
    "set_config('request.jwt.claims', :claims, true)"
)

_PLAN_FOR_VALUES = text("select set_config('plan_cache_mode', 'force_custom_plan', true)")
_NO_JIT = text("select set_config('jit', 'off', true)")


def create_engine(settings: Settings, *, pool_size: int | None = None) -> AsyncEngine:
    """An async engine on psycopg 3 that also works through Supabase's transaction pooler."""
    return create_async_engine(
        settings.sqlalchemy_url,
        pool_size=pool_size or settings.database_pool_size,
        max_overflow=0,
        pool_pre_ping=False,
        pool_recycle=1800,
        # Prepared statements break behind a transaction pooler (DESIGN.md §2, §10): the
        # setting turns them off there (config.py).
        connect_args={
            "prepare_threshold": settings.prepare_threshold,
            "application_name": "zapcrm",
        },
    )


class Database:
    """The engine plus session factories for tenant and service transactions."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self.sessionmaker = async_sessionmaker(engine, expire_on_commit=False, autoflush=False)
        # Same pool; psycopg's autocommit is a client-side switch, set and reset on checkout.
        self.autocommit_sessionmaker = async_sessionmaker(
            engine.execution_options(isolation_level="AUTOCOMMIT"),
            expire_on_commit=False,
            autoflush=False,
        )

    @classmethod
    def from_settings(cls, settings: Settings, *, pool_size: int | None = None) -> Database:
        """Build the engine from settings."""
        return cls(create_engine(settings, pool_size=pool_size))

    @asynccontextmanager
    async def tenant_session(self, claims: Mapping[str, Any]) -> AsyncIterator[AsyncSession]:
        """A transaction under RLS as the user the claims describe; commits on success."""
        async with self.sessionmaker() as session, session.begin():
            await enter_tenant(session, claims)
            yield session

    @asynccontextmanager
    async def service_session(self) -> AsyncIterator[AsyncSession]:
        """A transaction that bypasses RLS (workers, webhooks, CLI); commits on success."""
        async with self.sessionmaker() as session, session.begin():
            yield session

    @asynccontextmanager
    async def autocommit_session(self) -> AsyncIterator[AsyncSession]:
        """A session (bypassing RLS, like `service_session`) in which every statement is its
        own transaction: for hot-path work of a single statement, or of reads that need no
        common snapshot. psycopg sends BEGIN and COMMIT as commands of their own, so a
        one-statement transaction costs three round trips; here it costs one."""
        async with self.autocommit_sessionmaker() as session:
            yield session

    async def ping(self) -> None:
        """Raise if Postgres does not answer a trivial query."""
        async with self.engine.connect() as connection:
            await connection.execute(text("select 1"))

    async def dispose(self) -> None:
        """Close every pooled connection."""
        await self.engine.dispose()


async def plan_for_values(session: AsyncSession) -> None:
    """Plan the rest of the session's transaction for each statement's own parameter values.

    A statement run 5 times on a connection is prepared (config.py), and after 5 custom plans
    Postgres may settle on a generic plan, costed with default selectivities. That is right for
    lookups by key, and wrong where the values decide the plan: the same name search is a
    handful of rows for "damaceno" (read them through the trigram index) and thousands for
    "silva" (walk the newest contacts until a page is full). A generic plan always walked, and
    took 115-220 ms instead of ~17 ms for a rare name at 200,000 contacts (bench/search.py).
    """
    await driver_rows(session, _PLAN_FOR_VALUES, {})


@asynccontextmanager
async def unprepared(session: AsyncSession) -> AsyncIterator[None]:
    """Send the block's statements unprepared: Postgres plans each one for its own values.

    What `plan_for_values` gives the rest of a transaction, for these statements only and
    without its round trip (a search page paid one more before its query): psycopg prepares a
    statement once it has run `prepare_threshold` times on a connection (config.py), and only a
    prepared statement can fall back to a generic plan. An unprepared one (the extended
    protocol's unnamed statement) is planned with its parameters at every run; Postgres parses
    it again each time, which a prepared one skips. psycopg's switch is client-side.
    """
    connection = await session.connection()
    fairy = connection.sync_connection.connection  # type: ignore[union-attr]
    driver: psycopg.AsyncConnection[Any] = fairy.driver_connection  # type: ignore[assignment]
    threshold = driver.prepare_threshold
    driver.prepare_threshold = None
    try:
        yield
    finally:
        driver.prepare_threshold = threshold


async def without_jit(session: AsyncSession) -> None:
    """Run the rest of the session's transaction without JIT compilation.

    Postgres compiles a statement whose estimated cost passes jit_above_cost. Some of ours are
    priced far above what they cost: under RLS the report scans carry a per-row policy subplan
    on tens of thousands of estimated rows, and a word split is estimated at 1,000 rows per
    name. Compiling and optimising one report statement took 1-2.6 s of CPU on 100,000 cycles
    (bench/reports.py), more than running it; the suggestions' statement, ~0.8 s for a query of
    a few ms.
    """
    await driver_rows(session, _NO_JIT, {})


async def enter_tenant(session: AsyncSession, claims: Mapping[str, Any]) -> None:
    """Switch the session's current transaction to role `authenticated` with these claims."""
    # Every API request starts with it: straight on psycopg (see driver_rows).
    await driver_rows(session, _ENTER_TENANT, {"claims": orjson.dumps(dict(claims)).decode()})


_PSYCOPG_DIALECT = PGDialectAsync_psycopg()  # type: ignore[no-untyped-call]


@functools.lru_cache(maxsize=1024)
def _driver_sql(sql: str) -> str:
    # SQLAlchemy's own compiler turns `:name` into psycopg's `%(name)s` (and escapes `%`).
    # Keyed by the text, so a statement written inline costs one compilation, not a leak.
    return str(text(sql).compile(dialect=_PSYCOPG_DIALECT))


async def _driver_execute(
    session: AsyncSession,
    statement: TextClause,
    params: Mapping[str, Any],
    row_factory: RowFactory[Any],
) -> list[Any]:
    connection = await session.connection()
    fairy = connection.sync_connection.connection  # type: ignore[union-attr]
    driver: psycopg.AsyncConnection[Any] = fairy.driver_connection  # type: ignore[assignment]
    sql = _driver_sql(statement.text)
    try:
        cursor = driver.cursor(row_factory=row_factory)
        await cursor.execute(sql, params)
        return await cursor.fetchall() if cursor.description is not None else []
    except psycopg.Error as error:
        invalidated = driver.closed or driver.broken
        if invalidated:
            await connection.invalidate(error)
        raise DBAPIError.instance(
            sql,
            dict(params),
            error,
            psycopg.Error,
            connection_invalidated=invalidated,
            dialect=connection.dialect,
        ) from error


async def driver_rows(
    session: AsyncSession, statement: TextClause, params: Mapping[str, Any]
) -> list[tuple[Any, ...]]:
    """Run a `text()` statement straight on psycopg, in the session's transaction; its rows.

    For the statements every webhook and every send runs. SQLAlchemy's async execution (a
    greenlet hop, a wait_for, result metadata built again for each text() statement) measured
    ~130 us of CPU per statement against ~50 us for psycopg itself, and those paths are
    CPU-bound. Errors come out as SQLAlchemy's, with a dead connection invalidated, as its own
    execute does, so the 503 handler and the pool see the same thing either way. These
    statements do not go through SQLAlchemy's events (nothing listens to them on these paths).
    """
    return await _driver_execute(session, statement, params, tuple_row)


async def driver_mappings(
    session: AsyncSession, statement: TextClause, params: Mapping[str, Any]
) -> list[dict[str, Any]]:
    """`driver_rows`, each row as a dict by column name."""
    return await _driver_execute(session, statement, params, dict_row)


T = TypeVar("T")

_RETRYABLE_SQLSTATES = frozenset({"40P01", "40001"})  # deadlock detected, serialization failure


def sqlstate(error: BaseException) -> str | None:
    """The Postgres error code behind a SQLAlchemy error (None for any other error)."""
    return getattr(getattr(error, "orig", None), "sqlstate", None)


def is_retryable(error: BaseException) -> bool:
    """Whether Postgres aborted the transaction only because of a concurrent one."""
    return sqlstate(error) in _RETRYABLE_SQLSTATES


async def retry_transaction(work: Callable[[], Awaitable[T]], *, attempts: int = 3) -> T:
    """Run a whole transaction again when Postgres chose it as a deadlock victim."""
    for attempt in range(attempts):
        try:
            return await work()
        except DBAPIError as error:
            if attempt + 1 == attempts or not is_retryable(error):
                raise
            log.info("transaction.retried", sqlstate=sqlstate(error), attempt=attempt + 1)
            await asyncio.sleep(0.01 * (attempt + 1))
    raise AssertionError("unreachable")  # pragma: no cover
