"""Task test helpers: a company graph with people and chats, logins, and an Identity for
calling the service the way the panel does."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
from sqlalchemy import text

from tests.conftest import Factory, login
from tests.db.seed import CompanyGraph, seed_company
from zapcrm.db import Database


@dataclass
class Team:
    """A seeded company (admin, supervisor, two operators, three chats of contact Maria) and
    the Authorization headers of each person."""

    graph: CompanyGraph
    admin: dict[str, str]
    supervisor: dict[str, str]
    operator: dict[str, str]
    colleague: dict[str, str]


async def team(client: httpx.AsyncClient, db: Database, factory: Factory) -> Team:
    """A fresh company; its seeded task (created by nobody) is removed so counts start at 0."""
    graph = await seed_company(db, factory)
    async with db.service_session() as session:
        await session.execute(
            text("delete from tasks where company_id = :c"), {"c": graph.company_id}
        )
    return Team(
        graph=graph,
        admin=await login(client, graph.admin),
        supervisor=await login(client, graph.supervisor),
        operator=await login(client, graph.operator),
        colleague=await login(client, graph.other_operator),
    )


async def create(client: httpx.AsyncClient, headers: dict[str, str], **body: Any) -> dict[str, Any]:
    """POST /api/tasks, asserting 201; returns the task."""
    body.setdefault("title", "Ligar para a cliente")
    response = await client.post("/api/tasks", json=body, headers=headers)
    assert response.status_code == 201, response.text
    task: dict[str, Any] = response.json()
    return task


async def listed(
    client: httpx.AsyncClient, headers: dict[str, str], **params: str | int
) -> list[dict[str, Any]]:
    """GET /api/tasks (first page), asserting 200."""
    response = await client.get("/api/tasks", params=params, headers=headers)
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


def iso(moment: datetime) -> str:
    """A timezone-aware ISO timestamp for a request body."""
    return moment.astimezone(UTC).isoformat()


async def audit_actions(db: Database, task_id: str | uuid.UUID) -> list[str]:
    """The audit log actions recorded for a task, oldest first."""
    async with db.service_session() as session:
        rows = await session.execute(
            text(
                "select action from audit_log where target_type = 'task' and target_id = :id"
                " order by id"
            ),
            {"id": str(task_id)},
        )
        return [row[0] for row in rows]
