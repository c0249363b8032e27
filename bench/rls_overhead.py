"""Cost of the RLS request path: role + claims + a typical inbox query, against the same query
without RLS, through the app's own session factory, in one run.

    .venv/bin/python bench/rls_overhead.py [--conversations 20000] [--requests 2000]

Creates a throwaway database (on BENCH_POSTGRES_URL's server, default the local one), migrates
it, seeds one company with N conversations spread over 3 operators, and drops it at the end.
Goal (issue 2): the RLS path adds under 1 ms per request.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import time
import uuid

import psycopg
from sqlalchemy import text

from zapcrm.cli import alembic_config
from zapcrm.config import load_settings
from zapcrm.db import Database

ADMIN_URL = os.environ.get("BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")

INBOX_QUERY = text(
    "select id, remote_jid, status, assignee_id, last_message_preview, last_message_at,"
    " unread_count from evolution_conversations"
    " where company_id = :company and status = 'open'"
    " order by last_message_at desc nulls last, id desc limit 50"
)


def _seed(url: str, conversations: int) -> tuple[uuid.UUID, uuid.UUID]:
    with psycopg.connect(url, autocommit=True) as connection:
        company = connection.execute(
            "insert into companies (name) values ('Bench') returning id"
        ).fetchone()
        assert company is not None
        operators = []
        for index in range(3):
            row = connection.execute(
                "insert into auth.users (email) values (%s) returning id",
                (f"op{index}@bench.local",),
            ).fetchone()
            assert row is not None
            connection.execute(
                "insert into profiles (id, company_id, role, email) values (%s, %s, %s, %s)",
                (row[0], company[0], "operator", f"op{index}@bench.local"),
            )
            operators.append(row[0])
        instance = connection.execute(
            "insert into evolution_instances (company_id, external_id, server_url, api_key_hash)"
            " values (%s, 'bench', 'http://evo', repeat('a', 64)) returning id",
            (company[0],),
        ).fetchone()
        assert instance is not None
        connection.execute(
            "insert into evolution_conversations (company_id, instance_id, remote_jid,"
            " assignee_id, status, last_message_at, last_message_preview)"
            " select %s, %s, '55119' || lpad(g::text, 8, '0') || '@s.whatsapp.net',"
            " case when g %% 4 = 0 then null else (%s::uuid[])[1 + g %% 3] end,"
            " case when g %% 5 = 0 then 'closed' else 'open' end,"
            " now() - (g || ' seconds')::interval, 'mensagem ' || g"
            " from generate_series(1, %s) g",
            (company[0], instance[0], operators, conversations),
        )
        connection.execute("analyze")
    return company[0], operators[0]


async def _measure(
    db: Database, company: uuid.UUID, claims: dict[str, str] | None, n: int
) -> list[float]:
    timings = []
    for _ in range(n):
        started = time.perf_counter()
        if claims is None:
            async with db.service_session() as session:
                (await session.execute(INBOX_QUERY, {"company": company})).all()
        else:
            async with db.tenant_session(claims) as session:
                (await session.execute(INBOX_QUERY, {"company": company})).all()
        timings.append((time.perf_counter() - started) * 1000)
    return timings


def _describe(label: str, timings: list[float]) -> str:
    ordered = sorted(timings)
    p95 = ordered[int(len(ordered) * 0.95)]
    return (
        f"{label:<28} mean {statistics.fmean(timings):6.3f} ms"
        f"   p50 {statistics.median(timings):6.3f} ms   p95 {p95:6.3f} ms"
    )


async def _run(url: str, conversations: int, requests: int) -> None:
    company, operator = _seed(url, conversations)
    settings = load_settings(environment="test", database_url=url)
    db = Database.from_settings(settings, pool_size=2)
    claims = {"sub": str(operator), "role": "authenticated", "aud": "authenticated"}
    try:
        await _measure(db, company, None, 200)  # warm up pool and plans
        await _measure(db, company, claims, 200)
        # Interleave rounds so drift (autovacuum, CPU frequency) hits both sides equally.
        baseline: list[float] = []
        rls: list[float] = []
        for _ in range(10):
            baseline += await _measure(db, company, None, requests // 10)
            rls += await _measure(db, company, claims, requests // 10)
    finally:
        await db.dispose()
    added = statistics.median(rls) - statistics.median(baseline)
    ratio = statistics.median(rls) / statistics.median(baseline)
    print(f"inbox query over {conversations} conversations, {requests} requests per side")
    print(_describe("baseline (service, no RLS)", baseline))
    print(_describe("RLS (role + claims)", rls))
    print(
        f"added per request (p50): {added:.3f} ms   ratio {ratio:.2f}x"
        f"   goal < 1 ms: {'MET' if added < 1 else 'NOT MET'}"
    )


def main() -> None:
    """Parse arguments, build a scratch database, run, drop it."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--conversations", type=int, default=20_000)
    parser.add_argument("--requests", type=int, default=2_000)
    args = parser.parse_args()
    name = f"zapcrm_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(ADMIN_URL, autocommit=True) as connection:
        connection.execute(f'create database "{name}"')
    url = ADMIN_URL.rsplit("/", 1)[0] + "/" + name
    try:
        from alembic import command

        command.upgrade(alembic_config(url), "head")  # type: ignore[arg-type]
        asyncio.run(_run(url, args.conversations, args.requests))
    finally:
        with psycopg.connect(ADMIN_URL, autocommit=True) as connection:
            connection.execute(f'drop database if exists "{name}" with (force)')


if __name__ == "__main__":
    main()
