"""SQL for tasks: reads with the names they link to, keyset lists, the badge count, writes.

Every statement filters by company explicitly; RLS (migration 0011) decides which of the
company's tasks the caller sees.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import Select, and_, delete, func, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from zapcrm.models import Contact, Profile, Task


class TaskRow(NamedTuple):
    """A task with the display names of its assignee and contact."""

    task: Task
    assignee_name: str | None
    contact_name: str | None


def _with_names() -> Select[*tuple[Any, ...]]:
    return (
        select(Task, Profile.display_name, Contact.name)
        .outerjoin(Profile, Profile.id == Task.assignee_id)
        .outerjoin(Contact, Contact.id == Task.contact_id)
        # Writes go through Core statements: reads must not return stale identity-map objects.
        .execution_options(populate_existing=True)
    )


def _rows(result: Sequence[Any]) -> list[TaskRow]:
    return [TaskRow(row[0], row[1], row[2]) for row in result]


async def get_task(
    session: AsyncSession, company_id: uuid.UUID, task_id: uuid.UUID, *, for_update: bool = False
) -> TaskRow | None:
    """One task of the company the caller may see (locked when `for_update`), or None."""
    statement = _with_names().where(Task.company_id == company_id, Task.id == task_id)
    if for_update:
        # Only the task row: the joined names are on the nullable side of outer joins.
        statement = statement.with_for_update(of=Task)
    rows = _rows((await session.execute(statement)).all())
    return rows[0] if rows else None


async def list_tasks(
    session: AsyncSession,
    company_id: uuid.UUID,
    *,
    assignee_id: uuid.UUID | None,
    created_by: uuid.UUID | None,
    status: str | None,
    due_from: datetime | None,
    due_before: datetime | None,
    newest_completed_first: bool,
    after: tuple[datetime | None, uuid.UUID] | None,
    limit: int,
) -> list[TaskRow]:
    """Tasks in keyset order: by due date (soonest first, undated last), or for finished
    work by completion time (newest first); both break ties by id."""
    statement = _with_names().where(Task.company_id == company_id)
    if assignee_id is not None:
        statement = statement.where(Task.assignee_id == assignee_id)
    if created_by is not None:
        statement = statement.where(Task.created_by == created_by)
    if status is not None:
        statement = statement.where(Task.status == status)
    if due_from is not None:
        statement = statement.where(Task.due_at >= due_from)
    if due_before is not None:
        statement = statement.where(Task.due_at < due_before)
    if newest_completed_first:
        key = Task.completed_at
        if after is not None:
            at, last_id = after
            statement = statement.where(
                and_(key.is_(None), Task.id < last_id)
                if at is None
                else or_(key < at, key.is_(None), and_(key == at, Task.id < last_id))
            )
        statement = statement.order_by(key.desc().nulls_last(), Task.id.desc())
    else:
        key = Task.due_at
        if after is not None:
            at, last_id = after
            statement = statement.where(
                and_(key.is_(None), Task.id > last_id)
                if at is None
                else or_(key > at, key.is_(None), and_(key == at, Task.id > last_id))
            )
        statement = statement.order_by(key.asc().nulls_last(), Task.id.asc())
    return _rows((await session.execute(statement.limit(limit))).all())


async def count_open(
    session: AsyncSession, company_id: uuid.UUID, assignee_id: uuid.UUID, now: datetime
) -> tuple[int, int]:
    """How many open tasks the user has, and how many of them are due before `now`."""
    statement = select(
        func.count(), func.count().filter(Task.due_at < now)
    ).where(
        Task.company_id == company_id, Task.assignee_id == assignee_id, Task.status == "open"
    )  # fmt: skip
    row = (await session.execute(statement)).one()
    return int(row[0]), int(row[1])


async def insert_task(
    session: AsyncSession, company_id: uuid.UUID, values: dict[str, Any]
) -> uuid.UUID:
    """Create a task and return its id."""
    statement = insert(Task).values(company_id=company_id, **values).returning(Task.id)
    return (await session.execute(statement)).scalar_one()


async def update_task(
    session: AsyncSession, company_id: uuid.UUID, task_id: uuid.UUID, values: dict[str, Any]
) -> None:
    """Write new column values (`completed_at=func.now()` style expressions allowed)."""
    await session.execute(
        update(Task).where(Task.company_id == company_id, Task.id == task_id).values(**values)
    )


async def delete_task(session: AsyncSession, company_id: uuid.UUID, task_id: uuid.UUID) -> bool:
    """Delete a task; False when nothing the caller may delete matched."""
    result = await session.execute(
        delete(Task).where(Task.company_id == company_id, Task.id == task_id)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]
