"""Task rules: who sees, links, hands over, completes and deletes a to-do.

Callers own the transaction (a tenant session under RLS for the API and the panel); these
functions flush at most. A link to something the caller may not see answers NotFound, as if it
did not exist.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, time, timedelta
from typing import Any

from sqlalchemy import func
from sqlalchemy.ext.asyncio import AsyncSession

from zapcrm.accounts import repository as accounts_repo
from zapcrm.accounts import service as accounts_service
from zapcrm.accounts.audit import audit_action
from zapcrm.auth.identity import Identity
from zapcrm.contacts import repository as contacts_repo
from zapcrm.exceptions import Forbidden, NotFound, ValidationFailed
from zapcrm.i18n import N_
from zapcrm.kit.pagination import decode_cursor, encode_cursor
from zapcrm.messaging import repository as messaging_repo
from zapcrm.messaging.schemas import Page
from zapcrm.models import Role
from zapcrm.tasks import repository
from zapcrm.tasks.repository import TaskRow
from zapcrm.tasks.schemas import (
    DueFilter,
    TaskCounts,
    TaskIn,
    TaskOut,
    TaskScope,
    TaskStatus,
    TaskUpdate,
)


def _out(row: TaskRow, now: datetime) -> TaskOut:
    task = row.task
    return TaskOut(
        id=task.id,
        title=task.title,
        description=task.description,
        status="done" if task.status == "done" else "open",
        due_at=task.due_at,
        overdue=task.status == "open" and task.due_at is not None and task.due_at < now,
        assignee_id=task.assignee_id,
        assignee_name=row.assignee_name,
        created_by=task.created_by,
        contact_id=task.contact_id,
        contact_name=row.contact_name,
        conversation_id=task.conversation_id,
        completed_at=task.completed_at,
        created_at=task.created_at,
        updated_at=task.updated_at,
    )


async def _end_of_today(session: AsyncSession, company_id: uuid.UUID, now: datetime) -> datetime:
    """The next midnight in the company's time zone: where "today" ends for its people."""
    zone = await accounts_service.company_zone(session, company_id)
    tomorrow = now.astimezone(zone).date() + timedelta(days=1)
    return datetime.combine(tomorrow, time(), tzinfo=zone)


async def list_tasks(
    session: AsyncSession,
    identity: Identity,
    *,
    scope: TaskScope = "mine",
    status: TaskStatus | None = "open",
    due: DueFilter | None = None,
    cursor: str | None = None,
    limit: int = 50,
    now: datetime | None = None,
) -> Page[TaskOut]:
    """A page of tasks the caller may see (`status=None`: open and done).

    Open work comes soonest due first (undated last); `status="done"` lists the most recently
    completed first. `due="overdue"` implies open tasks.
    """
    now = now or datetime.now(UTC)
    due_from = due_before = None
    if due == "overdue":
        if status == "done":  # overdue means still open: nothing done is overdue
            return Page[TaskOut](items=[], next_cursor=None)
        status, due_before = "open", now
    elif due == "today":
        due_from, due_before = now, await _end_of_today(session, identity.company_id, now)
    elif due == "upcoming":
        due_from = await _end_of_today(session, identity.company_id, now)
    by_completion = status == "done"
    rows = await repository.list_tasks(
        session,
        identity.company_id,
        assignee_id=identity.user_id if scope == "mine" else None,
        created_by=identity.user_id if scope == "created" else None,
        status=status,
        due_from=due_from,
        due_before=due_before,
        newest_completed_first=by_completion,
        after=decode_cursor(cursor) if cursor else None,
        limit=limit + 1,
    )
    items = [_out(row, now) for row in rows[:limit]]
    next_cursor = None
    if len(rows) > limit:
        last = items[-1]
        next_cursor = encode_cursor(last.completed_at if by_completion else last.due_at, last.id)
    return Page[TaskOut](items=items, next_cursor=next_cursor)


async def count_open(
    session: AsyncSession, identity: Identity, *, now: datetime | None = None
) -> TaskCounts:
    """The caller's open tasks and how many of them are overdue (the navigation badge)."""
    total, overdue = await repository.count_open(
        session, identity.company_id, identity.user_id, now or datetime.now(UTC)
    )
    return TaskCounts(open=total, overdue=overdue)


async def _visible_row(
    session: AsyncSession, identity: Identity, task_id: uuid.UUID, *, for_update: bool = False
) -> TaskRow:
    row = await repository.get_task(session, identity.company_id, task_id, for_update=for_update)
    if row is None:
        raise NotFound(N_("tarefa não encontrada"))
    return row


async def get_task(session: AsyncSession, identity: Identity, task_id: uuid.UUID) -> TaskOut:
    """One task the caller may see; NotFound otherwise (never Forbidden: no leak)."""
    return _out(await _visible_row(session, identity, task_id), datetime.now(UTC))


async def _check_assignee(
    session: AsyncSession, identity: Identity, assignee_id: uuid.UUID | None
) -> None:
    if assignee_id is None or assignee_id == identity.user_id:
        return
    profile = await accounts_repo.get_profile(session, identity.company_id, assignee_id)
    if profile is None or not profile.active:
        raise ValidationFailed.on_field(
            "assignee_id", N_("o responsável deve ser um usuário ativo da empresa")
        )


async def _check_contact(
    session: AsyncSession, identity: Identity, contact_id: uuid.UUID | None
) -> None:
    if contact_id is None:
        return
    if await contacts_repo.get_contact(session, identity.company_id, contact_id) is None:
        raise NotFound(N_("contato não encontrado"))


async def _conversation_contact(
    session: AsyncSession, identity: Identity, conversation_id: uuid.UUID
) -> uuid.UUID | None:
    """The contact of a conversation the caller may see; NotFound for any other."""
    rows = await messaging_repo.get_conversations(session, [conversation_id])  # under RLS
    if not rows or rows[0]["company_id"] != identity.company_id:
        raise NotFound(N_("conversa não encontrada"))
    contact_id: uuid.UUID | None = rows[0]["contact_id"]
    return contact_id


async def _resolve_links(
    session: AsyncSession,
    identity: Identity,
    *,
    contact_id: uuid.UUID | None,
    conversation_id: uuid.UUID | None,
    contact_given: bool,
) -> uuid.UUID | None:
    """Check a new conversation link and the contact beside it; return the contact to store.

    Unless a contact is given, the task follows the chat's contact, so a task created from a
    conversation shows in that contact's timeline.
    """
    await _check_contact(session, identity, contact_id)
    if conversation_id is None:
        return contact_id
    chat_contact = await _conversation_contact(session, identity, conversation_id)
    if not contact_given:
        return chat_contact or contact_id
    if contact_id is not None and chat_contact is not None and contact_id != chat_contact:
        raise ValidationFailed.on_field("contact_id", N_("a conversa é de outro contato"))
    return contact_id


async def create_task(session: AsyncSession, identity: Identity, data: TaskIn) -> TaskOut:
    """Create a task; it goes to its creator unless `assignee_id` is given (null: nobody)."""
    assignee_id = data.assignee_id if "assignee_id" in data.model_fields_set else identity.user_id
    await _check_assignee(session, identity, assignee_id)
    contact_id = await _resolve_links(
        session,
        identity,
        contact_id=data.contact_id,
        conversation_id=data.conversation_id,
        contact_given="contact_id" in data.model_fields_set,
    )
    task_id = await repository.insert_task(
        session,
        identity.company_id,
        {
            "title": data.title,
            "description": data.description,
            "due_at": data.due_at,
            "assignee_id": assignee_id,
            "created_by": identity.user_id,
            "contact_id": contact_id,
            "conversation_id": data.conversation_id,
        },
    )
    await _audit(session, identity, "task.created", task_id, {"assignee_id": assignee_id})
    return await get_task(session, identity, task_id)


async def _stays_visible(
    session: AsyncSession,
    identity: Identity,
    row: TaskRow,
    assignee_id: uuid.UUID | None,
    conversation_id: uuid.UUID | None,
) -> bool:
    """Whether the caller would still see the task after the change (the RLS rule of 0011).

    Postgres refuses an UPDATE whose new row its author could not read, so a rule broken here
    would otherwise surface as a database error.
    """
    if identity.has_role(Role.SUPERVISOR) or identity.user_id in (
        assignee_id,
        row.task.created_by,
    ):
        return True
    if assignee_id is not None:
        return False
    if conversation_id is None:
        return True
    rows = await messaging_repo.get_conversations(session, [conversation_id])
    return bool(rows)


async def update_task(
    session: AsyncSession, identity: Identity, task_id: uuid.UUID, patch: TaskUpdate
) -> TaskOut:
    """Apply the given changes; only the creator or a supervisor may hand a task to someone
    the caller would then lose sight of."""
    row = await _visible_row(session, identity, task_id, for_update=True)
    task = row.task
    sent = patch.model_fields_set
    values: dict[str, Any] = {}
    for field in ("title", "description", "due_at"):
        if field in sent and getattr(patch, field) != getattr(task, field):
            values[field] = getattr(patch, field)
    assignee_id = patch.assignee_id if "assignee_id" in sent else task.assignee_id
    if assignee_id != task.assignee_id:
        await _check_assignee(session, identity, assignee_id)
        values["assignee_id"] = assignee_id
    conversation_id = patch.conversation_id if "conversation_id" in sent else task.conversation_id
    contact_id = patch.contact_id if "contact_id" in sent else task.contact_id
    if conversation_id != task.conversation_id:
        contact_id = await _resolve_links(
            session,
            identity,
            contact_id=contact_id,
            conversation_id=conversation_id,
            contact_given="contact_id" in sent,
        )
        values["conversation_id"] = conversation_id
    elif contact_id != task.contact_id:
        # The chat stays: its link was checked when made (and it may since have moved to
        # someone the caller cannot see), so only the contact itself is checked.
        await _check_contact(session, identity, contact_id)
    if contact_id != task.contact_id:
        values["contact_id"] = contact_id
    if not values:
        return _out(row, datetime.now(UTC))
    if not await _stays_visible(session, identity, row, assignee_id, conversation_id):
        raise Forbidden(
            N_("só quem criou a tarefa ou um supervisor pode passá-la para outra pessoa")
        )
    await repository.update_task(session, identity.company_id, task_id, values)
    return await get_task(session, identity, task_id)


async def complete_task(session: AsyncSession, identity: Identity, task_id: uuid.UUID) -> TaskOut:
    """Mark a task done (again: no change, so a double click is harmless)."""
    row = await _visible_row(session, identity, task_id, for_update=True)
    if row.task.status == "done":
        return _out(row, datetime.now(UTC))
    await repository.update_task(
        session, identity.company_id, task_id, {"status": "done", "completed_at": func.now()}
    )
    await _audit(session, identity, "task.completed", task_id, {"title": row.task.title})
    return await get_task(session, identity, task_id)


async def reopen_task(session: AsyncSession, identity: Identity, task_id: uuid.UUID) -> TaskOut:
    """Put a done task back on the list."""
    row = await _visible_row(session, identity, task_id, for_update=True)
    if row.task.status == "open":
        return _out(row, datetime.now(UTC))
    await repository.update_task(
        session, identity.company_id, task_id, {"status": "open", "completed_at": None}
    )
    await _audit(session, identity, "task.reopened", task_id, {"title": row.task.title})
    return await get_task(session, identity, task_id)


async def delete_task(session: AsyncSession, identity: Identity, task_id: uuid.UUID) -> None:
    """Delete a task: its creator, or a supervisor or admin."""
    row = await _visible_row(session, identity, task_id, for_update=True)
    if not identity.has_role(Role.SUPERVISOR) and row.task.created_by != identity.user_id:
        raise Forbidden(N_("só quem criou a tarefa ou um supervisor pode excluí-la"))
    await repository.delete_task(session, identity.company_id, task_id)
    await _audit(
        session,
        identity,
        "task.deleted",
        task_id,
        {"title": row.task.title, "assignee_id": row.task.assignee_id},
    )


async def _audit(
    session: AsyncSession,
    identity: Identity,
    action: str,
    task_id: uuid.UUID,
    details: dict[str, Any],
) -> None:
    await audit_action(session, identity, action, "task", task_id, details)
