"""Tasks API: my to-dos and the team's, the navigation badge, create, edit, complete, delete.

Changes are announced live (`task.*` events, tasks/live.py) after commit.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, Query, status
from sqlalchemy.ext.asyncio import AsyncSession

from zapcrm.dependencies import CurrentUser, RuntimeDep, TenantSession
from zapcrm.messaging.schemas import Page
from zapcrm.outbox import OutboxItem
from zapcrm.tasks import live, service
from zapcrm.tasks.schemas import DueFilter, TaskCounts, TaskIn, TaskOut, TaskScope, TaskUpdate
from zapcrm.transactions import in_tenant_transaction

router = APIRouter(tags=["tasks"])


@router.get("/api/tasks")
async def list_tasks(
    actor: CurrentUser,
    session: TenantSession,
    scope: TaskScope = "mine",
    task_status: Annotated[Literal["open", "done", "any"], Query(alias="status")] = "open",
    due: DueFilter | None = None,
    cursor: Annotated[str | None, Query(max_length=300)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> Page[TaskOut]:
    """Tasks soonest due first (done ones: latest completed first); keyset paginated."""
    return await service.list_tasks(
        session,
        actor,
        scope=scope,
        status=None if task_status == "any" else task_status,
        due=due,
        cursor=cursor,
        limit=limit,
    )


@router.get("/api/tasks/count")
async def count_tasks(actor: CurrentUser, session: TenantSession) -> TaskCounts:
    """My open tasks and how many are overdue, for the navigation badge."""
    return await service.count_open(session, actor)


@router.post("/api/tasks", status_code=status.HTTP_201_CREATED)
async def create_task(body: TaskIn, actor: CurrentUser, runtime: RuntimeDep) -> TaskOut:
    """Create a task (assigned to me unless `assignee_id` says otherwise; null: nobody)."""

    async def work(session: AsyncSession) -> tuple[TaskOut, list[OutboxItem]]:
        return await live.create_task(session, actor, body)

    return await in_tenant_transaction(runtime, actor, work)


@router.get("/api/tasks/{task_id:uuid}")
async def get_task(task_id: uuid.UUID, actor: CurrentUser, session: TenantSession) -> TaskOut:
    """One task I may see."""
    return await service.get_task(session, actor, task_id)


@router.patch("/api/tasks/{task_id:uuid}")
async def update_task(
    task_id: uuid.UUID, body: TaskUpdate, actor: CurrentUser, runtime: RuntimeDep
) -> TaskOut:
    """Change a task's text, due date, assignee or links."""

    async def work(session: AsyncSession) -> tuple[TaskOut, list[OutboxItem]]:
        return await live.update_task(session, actor, task_id, body)

    return await in_tenant_transaction(runtime, actor, work)


@router.post("/api/tasks/{task_id:uuid}/complete")
async def complete_task(task_id: uuid.UUID, actor: CurrentUser, runtime: RuntimeDep) -> TaskOut:
    """Mark a task done."""

    async def work(session: AsyncSession) -> tuple[TaskOut, list[OutboxItem]]:
        return await live.complete_task(session, actor, task_id)

    return await in_tenant_transaction(runtime, actor, work)


@router.post("/api/tasks/{task_id:uuid}/reopen")
async def reopen_task(task_id: uuid.UUID, actor: CurrentUser, runtime: RuntimeDep) -> TaskOut:
    """Put a done task back on the list."""

    async def work(session: AsyncSession) -> tuple[TaskOut, list[OutboxItem]]:
        return await live.reopen_task(session, actor, task_id)

    return await in_tenant_transaction(runtime, actor, work)


@router.delete("/api/tasks/{task_id:uuid}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_task(task_id: uuid.UUID, actor: CurrentUser, runtime: RuntimeDep) -> None:
    """Delete a task (its creator, or a supervisor or admin)."""

    async def work(session: AsyncSession) -> tuple[None, list[OutboxItem]]:
        return await live.delete_task(session, actor, task_id)

    await in_tenant_transaction(runtime, actor, work)
