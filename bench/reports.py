"""The service reports (Relatórios) on a large company: p50/p95 of the summary (every hour and
business hours only), the volume page and the per-cycle CSV export, through the real services
(tenant transaction as a supervisor, RLS, SQLAlchemy, the filters read as the endpoints read
them). Baseline in the same run: the period's cycles started per day by one bare GROUP BY sent
by psycopg as the table owner (no RLS, no ORM).

    .venv/bin/python -m bench.reports [--cycles 100000] [--days 30] [--period DAYS] [--runs 10]
                                      [--explain]

Creates a throwaway migrated database (bench/_scratch.py) and seeds one company in São Paulo
with set-based SQL: 20 agents, two numbers, three departments, opening hours Mon-Fri 08-18 with
lunch 12-13 and Sat 08-12 and a holiday, `--cycles` service cycles over the last `--days` days
(two per chat; a fifth of them start at night, and weekends come with the calendar), each with
the customer's message(s), the first reply minutes (sometimes hours, across nights) later, one
to three more exchanges, its close and a third of them rated; VACUUM ANALYZE. Then it times the
four pages in interleaved rounds over the seeded days, or over the last `--period` of them (a
supervisor's default is the last 7 days of a company with months of history: a report whose
cost grows with the history, not the period, shows there), and, as profile, what
app.business_seconds costs per call (migration 0042) against the plain difference of the same
timestamps. `--explain` prints the
plans of the business-hours summary's statements (under RLS, as the supervisor).
With BENCH_REPORTS_KEEP=1 the seeded database is kept and reused by the next run with the same
--cycles, --days and BENCH_REVISION (`zapcrm_bench_reports_<cycles>_<days>_<revision>`,
migrated only when created, so the code of another checkout can read it; drop it by hand):
seeding 200,000 cycles takes minutes, and before/after runs of one change need the same rows.
Goal: the panel's pages answer within 50 ms at p95 (bench/panel.py); each report is measured
against it and the verdict printed, met or not.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import orjson
import psycopg
from sqlalchemy import event

from bench._scratch import Runner, kept_database, percentile, scratch_database, timed
from bench._scratch import identity as bench_identity
from zapcrm.auth.identity import Identity
from zapcrm.config import load_settings
from zapcrm.db import Database
from zapcrm.models import Role
from zapcrm.reports import export, service

GOAL_P95_MS = 50.0
ZONE = ZoneInfo("America/Sao_Paulo")
AGENTS = 20
# Mon-Fri 08-18 with lunch, Sat 08-12 (stored as the hours page stores them).
_WEEKDAY = {"opens": "08:00:00", "closes": "18:00:00"}
_LUNCH = {"break_from": "12:00:00", "break_until": "13:00:00"}
HOURS = {
    **{str(day): {**_WEEKDAY, **_LUNCH} for day in range(1, 6)},
    "6": {"opens": "08:00:00", "closes": "12:00:00"},
}

# One temporary table of the cycles to come, with the random draws each needs; the chats,
# cycles and messages are then inserted from it in one statement each.
_SEED_CYCLES = """
create temporary table seed_cycles as
with chats as (
  select id, assignee_id, department_id, row_number() over (order by id) - 1 as n
  from evolution_conversations where company_id = %(company)s
),
drawn as (
  select gen_random_uuid() as id, ch.id as conversation_id, ch.assignee_id, ch.department_id,
         k, random() as r_day, random() as r_night, random() as r_hour, random() as r_wait,
         random() as r_long, random() as r_close, random() as r_open, random() as r_pairs,
         random() as r_double, random() as r_rated
  from chats ch cross join generate_series(0, 1) k
  where ch.n * 2 + k < %(cycles)s
),
placed as (
  select d.*,
         -- Each chat's two cycles fall in their own half of the period, so they never overlap.
         pg_catalog.timezone('America/Sao_Paulo',
           (%(first_day)s::date + (k * (%(days)s / 2) + floor(r_day * (%(days)s / 2 - 1)))::int)
           + case when r_night < 0.2 then r_hour * interval '24 hours'
                  else interval '8 hours' + r_hour * interval '10 hours' end) as started_at
  from drawn d
)
select id, conversation_id, assignee_id, department_id, started_at,
       case when r_wait < 0.03 then null
            when r_long < 0.85 then started_at + (20 + 1500 * r_wait ^ 2) * interval '1 second'
            else started_at + r_wait * interval '16 hours' end as replied_at,
       k = 1 and r_open < 0.05 as still_open,
       1 + floor(r_pairs * 3)::int as pairs, r_double < 0.3 as doubled,
       1 + floor(r_rated * 15)::int as grade_draw, r_close
from placed
"""

_INSERT_CYCLES = """
insert into conversation_cycles (id, company_id, conversation_id, started_at,
  first_assigned_at, first_human_reply_at, closed_at, closed_by, assignee_id, department_id,
  survey_sent_at, rating, rated_at)
select id, %(company)s, conversation_id, started_at, started_at, replied_at, closed_at,
       case when closed_at is not null then assignee_id end, assignee_id, department_id,
       case when grade_draw <= 5 then closed_at end,
       case when grade_draw <= 5 and closed_at is not null then grade_draw end,
       case when grade_draw <= 5 and closed_at is not null then closed_at + interval '5 min' end
from (
  select s.*, case when still_open then null
                   else coalesce(replied_at, started_at) + (600 + 7200 * r_close)
                        * interval '1 second' end as closed_at
  from seed_cycles s
) s
"""

_INSERT_MESSAGES = """
insert into evolution_messages (company_id, instance_id, conversation_id, key_id, from_me,
  remote_jid, type, body, message_timestamp, sent_by, status)
select %(company)s, c.instance_id, c.id, 'B' || gen_random_uuid(), m.from_me, c.remote_jid,
       'text', case when m.from_me then 'Certo, vou verificar' else 'Oi, preciso de ajuda' end,
       m.at, case when m.from_me then cy.assignee_id end, case when m.from_me then 'READ' end
from conversation_cycles cy
join seed_cycles s on s.id = cy.id
join evolution_conversations c on c.id = cy.conversation_id
cross join lateral (
  select coalesce(cy.closed_at, cy.first_human_reply_at + interval '1 hour') as finish
) f
cross join lateral (
  select cy.started_at as at, false as from_me
  union all select cy.started_at + interval '40 seconds', false where s.doubled
  union all select cy.first_human_reply_at, true where cy.first_human_reply_at is not null
  union all
  select cy.first_human_reply_at + (finish - cy.first_human_reply_at) * (p - 1.0) / s.pairs,
         false
  from generate_series(2, s.pairs) p where cy.first_human_reply_at is not null
  union all
  select cy.first_human_reply_at + (finish - cy.first_human_reply_at) * (p - 0.5) / s.pairs,
         true
  from generate_series(2, s.pairs) p where cy.first_human_reply_at is not null
) m
"""


def seed(url: str, cycles: int, days: int) -> tuple[uuid.UUID, uuid.UUID, date, date]:
    """The company, its people, hours, chats, cycles and messages; VACUUM ANALYZE. Returns the
    company, the supervisor and the seeded period's first and last day."""
    last_day = datetime.now(UTC).astimezone(ZONE).date() - timedelta(days=1)
    first_day = last_day - timedelta(days=days - 1)
    holiday = first_day + timedelta(days=(7 - first_day.weekday()) % 7 + 2)  # a Wednesday
    chats = (cycles + 1) // 2
    started = time.perf_counter()
    with psycopg.connect(url, autocommit=True) as connection:
        # Triggers and foreign-key checks off: the seed writes consistent rows itself.
        connection.execute("set session_replication_role = replica")
        connection.execute("set max_parallel_workers_per_gather = 0")
        connection.execute("select setseed(0.29)")
        row = connection.execute(
            "insert into companies (name, timezone) values ('Bench Reports',"
            " 'America/Sao_Paulo') returning id"
        ).fetchone()
        assert row is not None
        company_id: uuid.UUID = row[0]
        people: list[uuid.UUID] = []
        for index in range(AGENTS + 1):
            role = "supervisor" if index == 0 else "operator"
            email = f"{role}{index}@bench.local"
            user = connection.execute(
                "insert into auth.users (email) values (%s) returning id", (email,)
            ).fetchone()
            assert user is not None
            connection.execute(
                "insert into profiles (id, company_id, role, email, display_name)"
                " values (%s, %s, %s, %s, %s)",
                (user[0], company_id, role, email, f"Atendente {index:02d}"),
            )
            people.append(user[0])
        supervisor, agents = people[0], people[1:]
        numbers = [
            connection.execute(
                "insert into evolution_instances (company_id, external_id, server_url,"
                " api_key_hash, profile_name) values (%s, %s, 'http://evo.bench',"
                " repeat('a', 64), %s) returning id",
                (company_id, name, name.capitalize()),
            ).fetchone()[0]  # type: ignore[index]
            for name in ("loja", "filial")
        ]
        departments = [
            connection.execute(
                "insert into departments (company_id, name, position) values (%s, %s, %s)"
                " returning id",
                (company_id, name, position),
            ).fetchone()[0]  # type: ignore[index]
            for position, name in enumerate(("Vendas", "Suporte", "Financeiro"))
        ]
        connection.execute(
            "insert into business_hours (company_id, schedule, holidays) values (%s, %s, %s)",
            (company_id, orjson.dumps(HOURS).decode(), [holiday]),
        )
        connection.execute(
            "insert into contacts (company_id, name, phone_e164)"
            " select %s, 'Cliente ' || g, '+5511' || (900000000 + g)"
            " from generate_series(1, %s) g",
            (company_id, chats),
        )
        # A fourth of the chats in no department.
        connection.execute(
            "insert into evolution_conversations (company_id, instance_id, remote_jid,"
            " contact_id, assignee_id, department_id, status)"
            " select %(company)s, (%(numbers)s::uuid[])[1 + (n %% 3 = 0)::int],"
            " substr(phone_e164, 2) || '@s.whatsapp.net', id,"
            " (%(agents)s::uuid[])[1 + n %% %(count)s], (%(departments)s::uuid[])[1 + n %% 4],"
            " 'closed'"
            " from (select id, phone_e164, row_number() over (order by id) as n from contacts"
            " where company_id = %(company)s) x",
            {
                "company": company_id,
                "numbers": numbers,
                "agents": agents,
                "count": len(agents),
                "departments": departments,
            },
        )
        params = {"company": company_id, "cycles": cycles, "first_day": first_day, "days": days}
        connection.execute(_SEED_CYCLES, params)
        connection.execute(_INSERT_CYCLES, params)
        connection.execute(_INSERT_MESSAGES, params)
        counted = connection.execute(
            "select (select count(*) from conversation_cycles),"
            " (select count(*) from evolution_messages)"
        ).fetchone()
        assert counted is not None
        print(
            f"seeded {counted[0]:,} cycles and {counted[1]:,} messages in {chats:,} chats"
            f" in {time.perf_counter() - started:.1f} s"
        )
        started = time.perf_counter()
        for table in ("contacts", "evolution_conversations", "conversation_cycles"):
            connection.execute(f"vacuum analyze {table}")
        connection.execute("vacuum analyze evolution_messages")
        print(f"vacuum analyze in {time.perf_counter() - started:.1f} s")
    return company_id, supervisor, first_day, last_day


def _summary(
    db: Database, identity: Identity, first: date, last: date, *, business_hours: bool
) -> Runner:
    """What GET /api/reports/summary does: the filters, then the summary, in one transaction."""

    async def run() -> int:
        async with db.tenant_session(identity.claims) as session:
            filters = await service.resolve_filters(
                session, identity, first, last, business_hours=business_hours
            )
            summary = await service.summary(session, identity, filters)
        return summary.cycles_started

    return run


def _volume(db: Database, identity: Identity, first: date, last: date) -> Runner:
    async def run() -> int:
        async with db.tenant_session(identity.claims) as session:
            filters = await service.resolve_filters(session, identity, first, last)
            volume = await service.volume(session, identity, filters)
        return sum(day.cycles_started for day in volume.days)

    return run


def seeded(url: str, cycles: int, days: int) -> tuple[uuid.UUID, uuid.UUID, date, date]:
    """The company, supervisor and seeded days of a database seeded by an earlier run (its first
    day is its earliest start's: a day's first cycle starts after midnight), or `seed` now."""
    with psycopg.connect(url, autocommit=True) as connection:
        found = connection.execute(
            "select c.id, p.id, (select min(started_at at time zone c.timezone)::date"
            " from conversation_cycles where company_id = c.id)"
            " from companies c join profiles p on p.company_id = c.id and p.role = 'supervisor'"
            " where c.name = 'Bench Reports'"
        ).fetchone()
    if found is None or found[2] is None:
        return seed(url, cycles, days)
    print(f"reusing the {cycles:,} cycles over {days} days seeded by an earlier run")
    return found[0], found[1], found[2], found[2] + timedelta(days=days - 1)


def _export(
    db: Database, identity: Identity, first: date, last: date, *, business_hours: bool
) -> Runner:
    """The CSV download: the filters in the request's transaction, then the streamed file
    read to its end (its own transaction, as export.csv_chunks does)."""

    async def run() -> int:
        async with db.tenant_session(identity.claims) as session:
            filters = await service.resolve_filters(
                session, identity, first, last, business_hours=business_hours
            )
        plan = service.plan_export(identity, filters)
        size = 0
        async for chunk in export.csv_chunks(db, identity.claims, plan):
            size += len(chunk)
        return size

    return run


def _bare(
    raw: psycopg.AsyncConnection[Any], company_id: uuid.UUID, first: date, last: date
) -> Runner:
    """The period's cycles started per day, as the table owner (no RLS, no ORM)."""

    async def run() -> int:
        cursor = await raw.execute(
            "select (started_at at time zone 'America/Sao_Paulo')::date, count(*)"
            " from conversation_cycles where company_id = %s and started_at >= %s"
            " and started_at < %s group by 1",
            (company_id, _midnight(first), _midnight(last + timedelta(days=1))),
            prepare=False,
        )
        return len(await cursor.fetchall())

    return run


def _midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=ZONE)


async def _per_call(raw: psycopg.AsyncConnection[Any], company_id: uuid.UUID) -> str:
    """What one app.business_seconds call costs: the same sum over every cycle's first
    response with the function and with a plain difference (owner, no RLS)."""
    hours = (
        "'{08:00,08:00,08:00,08:00,08:00,08:00,NULL}'::time[],"
        " '{18:00,18:00,18:00,18:00,18:00,12:00,NULL}'::time[],"
        " '{12:00,12:00,12:00,12:00,12:00,NULL,NULL}'::time[],"
        " '{13:00,13:00,13:00,13:00,13:00,NULL,NULL}'::time[], '{}'::date[],"
        " 'America/Sao_Paulo'"
    )
    where = " from conversation_cycles where company_id = %s and first_human_reply_at is not null"
    plain = f"select count(*), sum(extract(epoch from first_human_reply_at - started_at)){where}"
    called = (
        f"select count(*), sum(app.business_seconds(started_at, first_human_reply_at, {hours}))"
        f"{where}"
    )
    spent = {}
    calls = 0
    for label, sql in (("plain", plain), ("called", called)):
        best = float("inf")
        for _ in range(3):
            started = time.perf_counter()
            row = await (await raw.execute(sql, (company_id,))).fetchone()
            best = min(best, time.perf_counter() - started)
            assert row is not None
            calls = row[0]
        spent[label] = best
    extra = (spent["called"] - spent["plain"]) / calls * 1e6
    return (
        f"app.business_seconds over {calls:,} first responses: {spent['called'] * 1000:.0f} ms"
        f" against {spent['plain'] * 1000:.0f} ms for the plain difference,"
        f" {extra:.2f} us per call"
    )


async def _explain(
    db: Database, raw: psycopg.AsyncConnection[Any], run: Runner, claims: dict[str, Any]
) -> None:
    """EXPLAIN ANALYZE of each statement a runner sends, under RLS as the runner's user."""
    sent: list[tuple[str, Any]] = []

    def record(*args: Any) -> None:
        sent.append((args[2], args[3]))

    event.listen(db.engine.sync_engine, "before_cursor_execute", record)
    try:
        await run()
    finally:
        event.remove(db.engine.sync_engine, "before_cursor_execute", record)
    for sql, params in sent:
        if not sql.lstrip().lower().startswith(("select", "with")):
            continue
        async with raw.transaction(force_rollback=True):
            # As the service runs it: role authenticated with the supervisor's claims (RLS).
            await raw.execute(
                "select set_config('role', 'authenticated', true),"
                " set_config('request.jwt.claims', %s, true)",
                (orjson.dumps(claims).decode(),),
            )
            explained = await raw.execute(f"explain (analyze, buffers) {sql}", params)
            plan = await explained.fetchall()
        print("---\n" + "\n".join(line[0] for line in plan))


async def _run(
    url: str, cycles: int, days: int, period: int | None, runs: int, explain: bool
) -> bool:
    company_id, user_id, first, last = seeded(url, cycles, days)
    if period is not None:
        first = max(first, last - timedelta(days=period - 1))
    settings = load_settings(environment="test", database_url=url)
    db = Database.from_settings(settings, pool_size=2)
    identity = bench_identity(company_id, user_id, Role.SUPERVISOR)
    plain = url.replace("postgresql+psycopg://", "postgresql://")
    timings: dict[str, list[float]] = {}
    try:
        async with await psycopg.AsyncConnection.connect(plain, autocommit=True) as raw:
            sides: dict[str, Runner] = {
                "summary": _summary(db, identity, first, last, business_hours=False),
                "summary, business hours": _summary(db, identity, first, last, business_hours=True),
                "volume": _volume(db, identity, first, last),
                "CSV export": _export(db, identity, first, last, business_hours=False),
                "CSV export, business hours": _export(
                    db, identity, first, last, business_hours=True
                ),
                "baseline: bare GROUP BY per day (owner)": _bare(raw, company_id, first, last),
            }
            started = await sides["summary"]()
            for run in sides.values():
                await timed(run, 1)  # warm caches, the pool and the statement cache
            timings = {label: [] for label in sides}
            # Interleaved rounds, so drift (autovacuum, the other tenants of the machine)
            # hits every side alike.
            for _round in range(runs):
                for label, run in sides.items():
                    timings[label] += await timed(run, 1)
            profile = await _per_call(raw, company_id)
            if explain:
                await _explain(db, raw, sides["summary, business hours"], dict(identity.claims))
    finally:
        await db.dispose()
    print(
        f"\n{cycles:,} cycles over {days} days, reported {first} .. {last}: {started:,} started"
        f" in the period; {runs} runs each, interleaved; ms"
    )
    print(f"{'':<44}{'p50':>9}{'p95':>9}")
    for label, measured in timings.items():
        p50, p95 = percentile(measured, 0.5), percentile(measured, 0.95)
        print(f"{label:<44}{p50:9.1f}{p95:9.1f}")
    print(profile)
    verdicts = []
    met_all = True
    for label, measured in timings.items():
        if label.startswith("baseline"):
            continue
        met = percentile(measured, 0.95) <= GOAL_P95_MS
        met_all = met_all and met
        verdicts.append(f"{label} {'MET' if met else 'NOT MET'}")
    print(f"goal p95 <= {GOAL_P95_MS:.0f} ms: " + "; ".join(verdicts))
    return met_all


def main() -> None:
    """Parse arguments, build a scratch database, seed, measure, drop it."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--cycles", type=int, default=100_000)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument(
        "--period", type=int, help="days reported: the last ones seeded (default: all)"
    )
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--explain", action="store_true", help="print the summary's plans")
    args = parser.parse_args()
    keep = os.environ.get("BENCH_REPORTS_KEEP")
    with kept_database(f"reports_{args.cycles}_{args.days}") if keep else scratch_database() as url:
        asyncio.run(_run(url, args.cycles, args.days, args.period, max(3, args.runs), args.explain))


if __name__ == "__main__":
    main()
