"""Departments API: everyone lists them and reads the menu; admins shape them; anyone who can
see a chat may send it to a department."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, status
from sqlalchemy.ext.asyncio import AsyncSession

from zapcrm.departments import service
from zapcrm.departments.schemas import (
    ConversationDepartmentIn,
    DepartmentIn,
    DepartmentOut,
    DepartmentPatch,
    MenuIn,
    MenuOut,
)
from zapcrm.dependencies import Admin, CurrentUser, RuntimeDep, TenantSession
from zapcrm.outbox import OutboxItem
from zapcrm.transactions import in_tenant_transaction

router = APIRouter(tags=["departments"])


@router.get("/api/departments")
async def list_departments(identity: CurrentUser, session: TenantSession) -> list[DepartmentOut]:
    """The company's departments in menu order, with their members."""
    return await service.list_departments(session, identity)


@router.post("/api/departments", status_code=status.HTTP_201_CREATED)
async def create_department(
    body: DepartmentIn, identity: Admin, session: TenantSession, runtime: RuntimeDep
) -> DepartmentOut:
    """Add a department, last in the menu (409 when the name exists in any letter case)."""
    created = await service.create_department(session, identity, body)
    runtime.menu_rules.forget(identity.company_id)
    return created


@router.patch("/api/departments/{department_id}")
async def update_department(
    department_id: uuid.UUID,
    body: DepartmentPatch,
    identity: Admin,
    session: TenantSession,
    runtime: RuntimeDep,
) -> DepartmentOut:
    """Rename it, move it in the menu (`position`, 1 = first) or replace its members."""
    changed = await service.update_department(session, identity, department_id, body)
    runtime.menu_rules.forget(identity.company_id)
    return changed


@router.delete("/api/departments/{department_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_department(
    department_id: uuid.UUID, identity: Admin, session: TenantSession, runtime: RuntimeDep
) -> None:
    """Remove a department; its chats keep going with no department."""
    await service.delete_department(session, identity, department_id)
    runtime.menu_rules.forget(identity.company_id)


@router.get("/api/departments/menu")
async def get_menu(identity: CurrentUser, session: TenantSession) -> MenuOut:
    """The WhatsApp menu new chats get (off until an admin turns it on)."""
    return await service.get_menu(session, identity)


@router.put("/api/departments/menu")
async def save_menu(
    body: MenuIn, identity: Admin, session: TenantSession, runtime: RuntimeDep
) -> MenuOut:
    """Turn the menu on or off and set its greeting (on needs at least one department)."""
    saved = await service.save_menu(session, identity, body)
    runtime.menu_rules.forget(identity.company_id)
    return saved


@router.post("/api/conversations/{conversation_id}/department")
async def route_conversation(
    conversation_id: uuid.UUID,
    body: ConversationDepartmentIn,
    identity: CurrentUser,
    runtime: RuntimeDep,
) -> ConversationDepartmentIn:
    """Send the chat to a department (null: none): it leaves whoever had it and waits there."""

    async def work(session: AsyncSession) -> tuple[ConversationDepartmentIn, list[OutboxItem]]:
        _, items = await service.route(session, identity, conversation_id, body.department_id)
        return body, items

    return await in_tenant_transaction(runtime, identity, work)
