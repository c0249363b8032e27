"""Tasks, live: each change is announced through the outbox, and each reader gets only the
announcements of tasks they may see.

The edges call these wrappers of the service instead of the bare service functions when the
change should reach open pages: they return the task with the outbox item to record in the
same transaction (published after commit; the incoming-messages worker adds the conversation's
assignee and publishes `task.<change>` on the company channel, see `messaging/jobs.py`).

An event carries ids only (never the title): a page that receives one fetches its list and
badge again through RLS, so what it shows follows exactly the API's rules. `may_see` mirrors
the tasks policy of migration 0011 so that a reader is not even pinged about someone else's
task: supervisors see every task; an operator sees tasks assigned to or created by them, and
unassigned tasks whose conversation (if any) is theirs or unassigned.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any, Literal

from sqlalchemy.ext.asyncio import AsyncSession

from zapcrm.auth.identity import Identity
from zapcrm.models import Role
from zapcrm.outbox import INCOMING_STREAM, OutboxItem
from zapcrm.tasks import service
from zapcrm.tasks.schemas import TaskIn, TaskOut, TaskUpdate

__all__ = [
    "Change",
    "complete_task",
    "counts_for",
    "create_task",
    "delete_task",
    "may_see",
    "reopen_task",
    "task_item",
    "update_task",
]

Change = Literal["created", "updated", "completed", "reopened", "deleted"]


def _id(value: uuid.UUID | None) -> str | None:
    return None if value is None else str(value)


def task_item(
    identity: Identity,
    task: TaskOut,
    change: Change,
    *,
    previous_assignee_id: uuid.UUID | None = None,
) -> OutboxItem:
    """The outbox entry announcing a change of `task` made by `identity`."""
    return OutboxItem(
        INCOMING_STREAM,
        {
            "kind": "task",
            "change": change,
            "company_id": str(identity.company_id),
            "task_id": str(task.id),
            "assignee_id": _id(task.assignee_id),
            "previous_assignee_id": _id(previous_assignee_id),
            "created_by": _id(task.created_by),
            "conversation_id": _id(task.conversation_id),
            "actor_id": str(identity.user_id),
        },
    )


async def create_task(
    session: AsyncSession, identity: Identity, data: TaskIn
) -> tuple[TaskOut, list[OutboxItem]]:
    """`service.create_task`, announced."""
    task = await service.create_task(session, identity, data)
    return task, [task_item(identity, task, "created")]


async def update_task(
    session: AsyncSession, identity: Identity, task_id: uuid.UUID, patch: TaskUpdate
) -> tuple[TaskOut, list[OutboxItem]]:
    """`service.update_task`, announced when something changed (with the previous assignee,
    whose list and badge lose the task)."""
    before = await service.get_task(session, identity, task_id)
    task = await service.update_task(session, identity, task_id, patch)
    if task == before:
        return task, []
    return task, [task_item(identity, task, "updated", previous_assignee_id=before.assignee_id)]


async def complete_task(
    session: AsyncSession, identity: Identity, task_id: uuid.UUID
) -> tuple[TaskOut, list[OutboxItem]]:
    """`service.complete_task`, announced unless it was already done."""
    before = await service.get_task(session, identity, task_id)
    task = await service.complete_task(session, identity, task_id)
    if before.status == task.status:
        return task, []
    return task, [task_item(identity, task, "completed")]


async def reopen_task(
    session: AsyncSession, identity: Identity, task_id: uuid.UUID
) -> tuple[TaskOut, list[OutboxItem]]:
    """`service.reopen_task`, announced unless it was already open."""
    before = await service.get_task(session, identity, task_id)
    task = await service.reopen_task(session, identity, task_id)
    if before.status == task.status:
        return task, []
    return task, [task_item(identity, task, "reopened")]


async def delete_task(
    session: AsyncSession, identity: Identity, task_id: uuid.UUID
) -> tuple[None, list[OutboxItem]]:
    """`service.delete_task`, announced with what the task was."""
    before = await service.get_task(session, identity, task_id)
    await service.delete_task(session, identity, task_id)
    return None, [task_item(identity, before, "deleted")]


def _data(event: Mapping[str, Any]) -> Mapping[str, Any]:
    data = event.get("data")
    return data if isinstance(data, Mapping) else {}


def may_see(identity: Identity, event: Mapping[str, Any]) -> bool:
    """Whether the reader could see the task before or after the change (RLS of 0011)."""
    if identity.has_role(Role.SUPERVISOR):
        return True
    data = _data(event)
    me = str(identity.user_id)
    if me in (data.get("assignee_id"), data.get("previous_assignee_id"), data.get("created_by")):
        return True
    in_pool = data.get("assignee_id") is None or (
        data.get("change") == "updated" and data.get("previous_assignee_id") is None
    )
    if not in_pool:
        return False
    # An unassigned task is visible with its conversation: the reader's own or unassigned.
    if data.get("conversation_id") is None:
        return True
    return data.get("conversation_assignee_id") in (None, me)


def counts_for(identity: Identity, event: Mapping[str, Any]) -> bool:
    """Whether the change may move the reader's badge (their open tasks)."""
    data = _data(event)
    me = str(identity.user_id)
    return me in (data.get("assignee_id"), data.get("previous_assignee_id"))


def by_reader(identity: Identity, event: Mapping[str, Any]) -> bool:
    """Whether the reader made the change (their page already shows it)."""
    return _data(event).get("actor_id") == str(identity.user_id)
