"""Department rules: everyone of the company reads the departments and the menu; admins shape
them; anyone who can see a chat may send it to a department.

Callers own the transaction (a tenant session under RLS, which enforces the same role rule in
Postgres: migration 0035); these checks give clear errors.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from psycopg.errors import ForeignKeyViolation, UniqueViolation
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from zapcrm.accounts.audit import audit_action
from zapcrm.auth.identity import Identity
from zapcrm.departments import repository
from zapcrm.departments.schemas import (
    MAX_DEPARTMENTS,
    DepartmentIn,
    DepartmentOut,
    DepartmentPatch,
    MenuIn,
    MenuOut,
)
from zapcrm.exceptions import Conflict, Forbidden, NotFound, ValidationFailed
from zapcrm.i18n import N_
from zapcrm.kit.ordering import moved
from zapcrm.messaging.changes import conversation_changed
from zapcrm.messaging.schemas import ConversationOut
from zapcrm.messaging.service import inbox
from zapcrm.models import Department, Role
from zapcrm.outbox import OutboxItem

DEFAULT_GREETING = "Olá! Para agilizar seu atendimento, responda com o número do setor:"


def _require_admin(actor: Identity) -> None:
    if not actor.has_role(Role.ADMIN):
        raise Forbidden(N_("apenas administradores organizam os setores"))


@asynccontextmanager
async def _checked(name: str | None) -> AsyncIterator[None]:
    """Let the keys decide: a name taken in any letter case (unique index), a member who is
    not of the company (same-company foreign key). A savepoint keeps the transaction usable
    for the caller."""
    try:
        yield
    except IntegrityError as error:
        if isinstance(error.orig, UniqueViolation):
            raise Conflict(
                N_("o setor {name} já existe", name=name or ""),
                fields=[{"field": "name", "message": N_("já existe")}],
            ) from None
        if isinstance(error.orig, ForeignKeyViolation):
            raise ValidationFailed(
                N_("um dos membros não é usuário da empresa"),
                fields=[{"field": "member_ids", "message": N_("usuário desconhecido")}],
            ) from None
        raise


async def _existing(session: AsyncSession, actor: Identity, department_id: uuid.UUID) -> Department:
    row = await repository.get_department(session, actor.company_id, department_id)
    if row is None:
        raise NotFound(N_("setor não encontrado"))
    return row


async def member_of(session: AsyncSession, identity: Identity) -> list[uuid.UUID]:
    """The departments the caller works in (whatever their role)."""
    return await repository.departments_of(session, identity.company_id, identity.user_id)


async def list_departments(session: AsyncSession, identity: Identity) -> list[DepartmentOut]:
    """The company's departments in menu order."""
    rows = await repository.list_departments(session, identity.company_id)
    return [DepartmentOut(**row._asdict()) for row in rows]


async def _one(
    session: AsyncSession, identity: Identity, department_id: uuid.UUID
) -> DepartmentOut:
    for department in await list_departments(session, identity):
        if department.id == department_id:
            return department
    raise NotFound(N_("setor não encontrado"))


async def create_department(
    session: AsyncSession, identity: Identity, data: DepartmentIn
) -> DepartmentOut:
    """Add a department, last in the menu (admins), audited."""
    _require_admin(identity)
    if await repository.count_departments(session, identity.company_id) >= MAX_DEPARTMENTS:
        raise ValidationFailed(N_("no máximo {limit} setores por empresa", limit=MAX_DEPARTMENTS))
    async with _checked(data.name), session.begin_nested():
        row = await repository.insert_department(session, identity.company_id, data.name)
        await repository.set_members(session, identity.company_id, row.id, data.member_ids)
    await audit_action(
        session, identity, "department.created", "department", row.id, {"name": data.name}
    )
    return await _one(session, identity, row.id)


async def update_department(
    session: AsyncSession, identity: Identity, department_id: uuid.UUID, patch: DepartmentPatch
) -> DepartmentOut:
    """Rename, move in the menu or change the members (admins), audited."""
    _require_admin(identity)
    row = await _existing(session, identity, department_id)
    async with _checked(patch.name), session.begin_nested():
        if patch.name is not None and patch.name != row.name:
            await repository.change_department(session, row, {"name": patch.name})
        if patch.member_ids is not None:
            await repository.set_members(session, identity.company_id, row.id, patch.member_ids)
    if patch.position is not None:
        listed = [d.id for d in await repository.list_departments(session, identity.company_id)]
        ordered = moved(listed, row.id, patch.position - 1)  # positions count from 1
        await repository.renumber(session, identity.company_id, ordered)
    changes = patch.model_dump(mode="json", include=patch.model_fields_set)
    await audit_action(session, identity, "department.changed", "department", row.id, changes)
    return await _one(session, identity, row.id)


async def delete_department(
    session: AsyncSession, identity: Identity, department_id: uuid.UUID
) -> None:
    """Remove a department (admins): its chats stay where they are, with no department."""
    _require_admin(identity)
    row = await _existing(session, identity, department_id)
    await repository.remove_department(session, row)
    ordered = [d.id for d in await repository.list_departments(session, identity.company_id)]
    await repository.renumber(session, identity.company_id, ordered)
    await audit_action(
        session, identity, "department.deleted", "department", row.id, {"name": row.name}
    )


async def get_menu(session: AsyncSession, identity: Identity) -> MenuOut:
    """The company's menu (off, with the default greeting, until an admin saves it)."""
    row = await repository.get_menu(session, identity.company_id)
    if row is None:
        return MenuOut(enabled=False, greeting=DEFAULT_GREETING, updated_at=None)
    return MenuOut(enabled=row.enabled, greeting=row.greeting, updated_at=row.updated_at)


async def save_menu(session: AsyncSession, identity: Identity, data: MenuIn) -> MenuOut:
    """Turn the menu on or off and set its greeting (admins), audited. On needs a department."""
    _require_admin(identity)
    if data.enabled and not await repository.count_departments(session, identity.company_id):
        raise ValidationFailed(
            N_("crie ao menos um setor antes de ligar o menu"),
            fields=[{"field": "enabled", "message": N_("nenhum setor")}],
        )
    row = await repository.save_menu(session, identity.company_id, data.enabled, data.greeting)
    await audit_action(
        session, identity, "department.menu_changed", "company", identity.company_id,
        data.model_dump(),
    )  # fmt: skip
    return MenuOut(enabled=row.enabled, greeting=row.greeting, updated_at=row.updated_at)


async def route(
    session: AsyncSession,
    identity: Identity,
    conversation_id: uuid.UUID,
    department_id: uuid.UUID | None,
) -> tuple[ConversationOut, list[OutboxItem]]:
    """Send a chat to a department (or take it out of one): it leaves whoever had it and
    waits there for the department's members. Anyone who can see the chat may; audited.
    Returns the chat as it is now, or as it was written when it left the caller's sight (an
    operator sending it to a department they do not work in: migration 0038)."""
    before = await inbox.get_conversation(session, conversation_id)
    department = await _existing(session, identity, department_id) if department_id else None
    if not await repository.route_conversation(session, conversation_id, department_id):
        raise NotFound(N_("conversa não encontrada"))
    await audit_action(
        session, identity, "conversation.department_changed", "conversation", conversation_id,
        {"department_id": str(department_id) if department_id else None},
    )  # fmt: skip
    after = await inbox.find_conversation(session, conversation_id) or before.model_copy(
        update={
            "department_id": department_id,
            "department_name": department.name if department else None,
            "assignee_id": None,
        }
    )
    # Sent to a department: its members are told who sent it (web/pages/events.py).
    extra = {"routed_by": str(identity.user_id)} if department_id is not None else {}
    return after, [conversation_changed(identity.company_id, conversation_id, **extra)]
