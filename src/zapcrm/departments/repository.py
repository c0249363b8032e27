"""SQL of departments: the teams, their members, the menu, and chats' routing."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any, NamedTuple

from sqlalchemy import ColumnElement, and_, delete, func, select, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from zapcrm.departments.schemas import MENU_MAX_TRIES
from zapcrm.kit.company_rows import save_company_row
from zapcrm.models import Department, DepartmentMember, DepartmentMenu, EvolutionConversation

# How long a chat whose customer got the menu waits for their choice before the distributor
# serves it anyway.
MENU_PATIENCE = timedelta(minutes=30)


# The menu's order: by position, then by name and id, so that ties always read the same.
_MENU_ORDER = (Department.position, func.lower(Department.name), Department.id)


class DepartmentRow(NamedTuple):
    """A department with its members' ids."""

    id: uuid.UUID
    name: str
    position: int
    member_ids: list[uuid.UUID]


async def list_departments(session: AsyncSession, company_id: uuid.UUID) -> list[DepartmentRow]:
    """The company's departments in menu order, each with its members."""
    members = (
        select(func.coalesce(func.array_agg(DepartmentMember.user_id), text("'{}'::uuid[]")))
        .where(DepartmentMember.department_id == Department.id)
        .scalar_subquery()
    )
    statement = (
        select(Department.id, Department.name, Department.position, members)
        .where(Department.company_id == company_id)
        .order_by(*_MENU_ORDER)
    )
    return [DepartmentRow._make(row) for row in await session.execute(statement)]


async def menu_options(session: AsyncSession, company_id: uuid.UUID) -> list[tuple[uuid.UUID, str]]:
    """The company's departments as the menu lists them: (id, name) in menu order."""
    statement = (
        select(Department.id, Department.name)
        .where(Department.company_id == company_id)
        .order_by(*_MENU_ORDER)
    )
    return [(row.id, row.name) for row in await session.execute(statement)]


async def get_department(
    session: AsyncSession, company_id: uuid.UUID, department_id: uuid.UUID
) -> Department | None:
    """One department of the company."""
    statement = select(Department).where(
        Department.company_id == company_id, Department.id == department_id
    )
    return (await session.scalars(statement)).first()


async def insert_department(session: AsyncSession, company_id: uuid.UUID, name: str) -> Department:
    """A new department, last in the menu."""
    last = (
        select(func.coalesce(func.max(Department.position), 0) + 1)
        .where(Department.company_id == company_id)
        .scalar_subquery()
    )
    statement = (
        insert(Department)
        .values(company_id=company_id, name=name, position=last)
        .returning(Department)
    )
    return (await session.scalars(statement)).one()


async def count_departments(session: AsyncSession, company_id: uuid.UUID) -> int:
    """How many departments the company has."""
    statement = select(func.count()).where(Department.company_id == company_id)
    return int((await session.execute(statement)).scalar_one())


async def change_department(
    session: AsyncSession, department: Department, values: dict[str, Any]
) -> None:
    """Rename it."""
    await session.execute(update(Department).where(Department.id == department.id).values(**values))


async def renumber(session: AsyncSession, company_id: uuid.UUID, ordered: list[uuid.UUID]) -> None:
    """Give the departments positions 1..n in this order."""
    await session.execute(
        text(
            "update departments d set position = o.n"
            " from unnest(cast(:ids as uuid[])) with ordinality as o(id, n)"
            " where d.id = o.id and d.company_id = :company"
        ),
        {"ids": ordered, "company": company_id},
    )


async def remove_department(session: AsyncSession, department: Department) -> None:
    """Delete it (its chats keep going, with no department: migration 0035)."""
    await session.execute(delete(Department).where(Department.id == department.id))


async def set_members(
    session: AsyncSession, company_id: uuid.UUID, department_id: uuid.UUID, users: list[uuid.UUID]
) -> None:
    """Make `users` the department's members, exactly."""
    await session.execute(
        delete(DepartmentMember).where(
            DepartmentMember.department_id == department_id,
            DepartmentMember.user_id.not_in(users),
        )
    )
    if users:
        await session.execute(
            insert(DepartmentMember)
            .values(
                [
                    {"company_id": company_id, "department_id": department_id, "user_id": user}
                    for user in users
                ]
            )
            .on_conflict_do_nothing()
        )


async def departments_of(
    session: AsyncSession, company_id: uuid.UUID, user_id: uuid.UUID
) -> list[uuid.UUID]:
    """The departments the user works in."""
    statement = select(DepartmentMember.department_id).where(
        DepartmentMember.company_id == company_id, DepartmentMember.user_id == user_id
    )
    return list((await session.scalars(statement)).all())


async def get_menu(session: AsyncSession, company_id: uuid.UUID) -> DepartmentMenu | None:
    """The company's menu row (None until an admin saves one)."""
    return await session.get(DepartmentMenu, company_id)


async def save_menu(
    session: AsyncSession, company_id: uuid.UUID, enabled: bool, greeting: str
) -> DepartmentMenu:
    """Create or replace the company's menu."""
    values = {"enabled": enabled, "greeting": greeting}
    return await save_company_row(session, DepartmentMenu, company_id, values)


async def route_conversation(
    session: AsyncSession, conversation_id: uuid.UUID, department_id: uuid.UUID | None
) -> bool:
    """Send the chat to a department (or none) with nobody on it: it waits there. The menu
    counts as answered for the open cycle (and nobody waits for a choice: no time asked).
    False when the caller cannot see or change it."""
    result = await session.execute(
        # A function (migration 0038): the chat may leave the caller's sight, which an UPDATE
        # under the conversations' policy refuses.
        text("select app.route_conversation(:id, :department)"),
        {"id": conversation_id, "department": department_id},
    )
    return bool(result.scalar_one())


class MenuState(NamedTuple):
    """What the menu needs to know of a chat that just got a customer's message."""

    assignee_id: uuid.UUID | None
    department_id: uuid.UUID | None
    menu_cycle_id: uuid.UUID | None
    menu_tries: int
    cycle_id: uuid.UUID | None
    answered: bool
    remote_jid: str
    contact_name: str | None
    contact_phone: str | None
    # The chat's last closed cycle: whether there is one, and the department it ended in.
    had_cycle: bool
    last_department_id: uuid.UUID | None


# The chat's row locked for the rest of the webhook's transaction: two messages of a burst
# cannot both find the menu unasked. `answered`: someone of the team wrote in this cycle.
_MENU_STATE = text(
    "select c.assignee_id, c.department_id, c.menu_cycle_id, c.menu_tries, cy.id,"
    " coalesce(cy.first_human_reply_at is not null, false), c.remote_jid, ct.name,"
    " ct.phone_e164, last.id is not null, last.department_id"
    " from evolution_conversations c left join lateral (select id, first_human_reply_at"
    "   from conversation_cycles where conversation_id = c.id and closed_at is null"
    "   order by started_at desc limit 1) cy on true"
    " left join lateral (select id, department_id from conversation_cycles"
    "   where conversation_id = c.id and closed_at is not null"
    "   order by closed_at desc limit 1) last on true"
    " left join contacts ct on ct.id = c.contact_id"
    " where c.id = :id and not c.is_group for update of c"
)


def choosing(now: datetime) -> ColumnElement[bool]:
    """A chat whose customer got the menu less than MENU_PATIENCE ago and has neither chosen
    nor used up their tries: one to wait for. Never NULL (false when never asked), so it can
    be negated in a WHERE."""
    chat = EvolutionConversation
    return and_(
        chat.department_id.is_(None),
        chat.menu_asked_at.is_not(None),
        chat.menu_asked_at > now - MENU_PATIENCE,
        chat.menu_tries < MENU_MAX_TRIES,
    )


async def menu_state(session: AsyncSession, conversation_id: uuid.UUID) -> MenuState | None:
    """The chat's routing state, its row locked (None for groups or an unknown chat)."""
    row = (await session.execute(_MENU_STATE, {"id": conversation_id})).first()
    return MenuState._make(row) if row is not None else None


async def save_menu_state(
    session: AsyncSession,
    conversation_id: uuid.UUID,
    *,
    cycle_id: uuid.UUID | None,
    asked_at: datetime | None,
    tries: int,
    department_id: uuid.UUID | None,
) -> None:
    """Record the menu's progress in the chat (service role, the webhook's transaction)."""
    await session.execute(
        text(
            "update evolution_conversations set menu_cycle_id = :cycle,"
            " menu_asked_at = coalesce(:asked_at, menu_asked_at), menu_tries = :tries,"
            " department_id = :department where id = :id"
        ),
        {
            "id": conversation_id,
            "cycle": cycle_id,
            "asked_at": asked_at,
            "tries": tries,
            "department": department_id,
        },
    )
