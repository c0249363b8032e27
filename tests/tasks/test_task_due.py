"""Due-date views and the navigation badge: overdue, today (in the company's time zone),
upcoming, and my open/overdue counts; through the API and through the service the panel calls."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import event, text

from tests.conftest import Factory, identity_of
from tests.tasks.helpers import create, iso, listed, team
from zapcrm.db import Database
from zapcrm.tasks import service
from zapcrm.tasks.schemas import DueFilter, TaskIn


async def _set_timezone(db: Database, company_id: uuid.UUID, name: str) -> None:
    async with db.service_session() as session:
        await session.execute(
            text("update companies set timezone = :tz where id = :id"),
            {"tz": name, "id": company_id},
        )


def _noon_zone(now: datetime) -> str:
    """A fixed-offset zone where it is now between 12:00 and 13:00, so "today" has room on
    both sides of `now` whenever the test runs."""
    offset = 12 - now.hour  # -11 .. +12
    # POSIX-style names: Etc/GMT-3 is three hours *ahead* of UTC.
    return "Etc/GMT" if offset == 0 else f"Etc/GMT{-offset:+d}"


async def test_overdue_today_upcoming_and_the_badge(
    client: httpx.AsyncClient, db: Database, factory: Factory
) -> None:
    people = await team(client, db, factory)
    graph = people.graph
    now = datetime.now(UTC)
    await _set_timezone(db, graph.company_id, _noon_zone(now))
    titles = {
        "atrasada ontem": now - timedelta(days=1),
        "atrasada hoje": now - timedelta(minutes=30),
        "mais tarde hoje": now + timedelta(minutes=40),
        "amanhã": now + timedelta(days=1),
        "semana que vem": now + timedelta(days=7),
        "sem prazo": None,
    }
    for title, due in titles.items():
        await create(client, people.operator, title=title, due_at=iso(due) if due else None)
    finished = await create(
        client, people.operator, title="feita", due_at=iso(now - timedelta(days=2))
    )
    assert (
        await client.post(f"/api/tasks/{finished['id']}/complete", headers=people.operator)
    ).status_code == 200
    # Someone else's overdue work counts for them, not for the operator.
    await create(client, people.colleague, title="da colega", due_at=iso(now - timedelta(days=1)))
    await create(
        client,
        people.operator,
        title="delegada",
        due_at=iso(now - timedelta(days=1)),
        assignee_id=str(graph.other_operator.id),
    )

    async def titles_of(**params: str) -> list[str]:
        return [task["title"] for task in await listed(client, people.operator, **params)]

    assert await titles_of(due="overdue") == ["atrasada ontem", "atrasada hoje"]
    assert await titles_of(due="overdue", status="done") == []  # overdue means open
    assert await titles_of(due="today") == ["mais tarde hoje"]
    assert await titles_of(due="upcoming") == ["amanhã", "semana que vem"]
    assert await titles_of() == [
        "atrasada ontem",
        "atrasada hoje",
        "mais tarde hoje",
        "amanhã",
        "semana que vem",
        "sem prazo",
    ]
    assert await titles_of(status="done", due="upcoming") == []
    assert await titles_of(status="any", due="overdue") == ["atrasada ontem", "atrasada hoje"]
    overdue_flags = {t["title"]: t["overdue"] for t in await listed(client, people.operator)}
    assert overdue_flags["atrasada hoje"] is True
    assert overdue_flags["mais tarde hoje"] is False
    assert overdue_flags["sem prazo"] is False

    count = await client.get("/api/tasks/count", headers=people.operator)
    assert count.status_code == 200
    assert count.json() == {"open": 6, "overdue": 2}
    colleague = await client.get("/api/tasks/count", headers=people.colleague)
    assert colleague.json() == {"open": 2, "overdue": 2}
    assert (await client.get("/api/tasks/count", headers=people.admin)).json() == {
        "open": 0,
        "overdue": 0,
    }
    assert (await client.get("/api/tasks/count")).status_code == 401


async def test_today_ends_at_the_companys_midnight(db: Database, factory: Factory) -> None:
    """Called as the panel calls the service: 23:30 in São Paulo is 02:30 UTC the next day."""
    company_id = await factory.company()
    await _set_timezone(db, company_id, "America/Sao_Paulo")
    operator = await factory.user(company_id)
    me = identity_of(operator)
    now = datetime(2026, 3, 10, 2, 30, tzinfo=UTC)  # 2026-03-09 23:30 -03:00
    async with db.tenant_session(me.claims) as session:
        for title, due in (
            ("23:45 local", datetime(2026, 3, 10, 2, 45, tzinfo=UTC)),
            ("00:15 local, amanhã", datetime(2026, 3, 10, 3, 15, tzinfo=UTC)),
            ("23:00 local, já passou", datetime(2026, 3, 10, 2, 0, tzinfo=UTC)),
        ):
            created = await service.create_task(session, me, TaskIn(title=title, due_at=due))
            assert created.assignee_id == operator.id
    async with db.tenant_session(me.claims) as session:

        async def titles(due: DueFilter) -> list[str]:
            page = await service.list_tasks(session, me, due=due, now=now)
            return [task.title for task in page.items]

        assert await titles(due="today") == ["23:45 local"]
        assert await titles(due="upcoming") == ["00:15 local, amanhã"]
        assert await titles(due="overdue") == ["23:00 local, já passou"]
        counts = await service.count_open(session, me, now=now)
        assert (counts.open, counts.overdue) == (3, 1)
        later = await service.count_open(session, me, now=now + timedelta(hours=1))
        assert (later.open, later.overdue) == (3, 3)
        page = await service.list_tasks(session, me, scope="mine", limit=2, now=now)
        assert len(page.items) == 2
        assert page.next_cursor is not None
        rest = await service.list_tasks(session, me, cursor=page.next_cursor, now=now)
        assert [task.title for task in rest.items] == ["00:15 local, amanhã"]
        assert rest.next_cursor is None
        done = await service.complete_task(session, me, page.items[0].id)
        assert done.status == "done"
        assert (await service.count_open(session, me, now=now)).open == 2


@contextmanager
def counting_statements(db: Database) -> Iterator[list[str]]:
    """Record every statement the engine sends while the block runs."""
    statements: list[str] = []

    def record(*args: Any) -> None:
        statements.append(args[2])

    event.listen(db.engine.sync_engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(db.engine.sync_engine, "before_cursor_execute", record)


async def test_query_counts_of_the_badge_and_a_task_page_are_pinned(
    client: httpx.AsyncClient, db: Database, factory: Factory
) -> None:
    """Names of assignees and contacts come in the same query (no N+1); the badge, shown on
    every panel page, is one statement."""
    people = await team(client, db, factory)
    graph = people.graph
    for index in range(12):
        await create(
            client,
            people.operator,
            title=f"Tarefa {index}",
            due_at=iso(datetime.now(UTC) + timedelta(hours=index + 1)),
            conversation_id=str(graph.mine_conversation_id),
        )
    me = identity_of(graph.operator)
    cases: list[tuple[DueFilter | None, int]] = [(None, 1), ("overdue", 1), ("upcoming", 2)]
    for due, expected in cases:
        async with db.tenant_session(me.claims) as session:
            with counting_statements(db) as statements:
                page = await service.list_tasks(session, me, due=due, limit=50)
        assert len(statements) == expected, statements
        assert all(task.contact_name == "Maria" for task in page.items)
    async with db.tenant_session(me.claims) as session:
        with counting_statements(db) as statements:
            counts = await service.count_open(session, me)
    assert counts.open == 12
    assert len(statements) == 1, statements
