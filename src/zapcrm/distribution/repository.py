"""SQL of distribution: settings, the availability switch, the team's figures, and the
distributor's reads and writes (as the service role, one company per transaction)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import ColumnElement, ScalarSelect, and_, func, select, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from zapcrm.departments.repository import choosing
from zapcrm.kit.company_rows import save_company_row
from zapcrm.models import (
    AgentAvailability,
    ConversationCycle,
    DepartmentMember,
    DistributionSettings,
    EvolutionConversation,
    Profile,
)


class Candidate(NamedTuple):
    """An agent taking chats: their open chats, when the distributor last gave them one, and
    the departments they work in."""

    user_id: uuid.UUID
    open_conversations: int
    last_assigned_at: datetime | None
    departments: frozenset[uuid.UUID] = frozenset()


class Waiting(NamedTuple):
    """A chat waiting for someone, and the department it waits in (None: anyone's)."""

    id: uuid.UUID
    department_id: uuid.UUID | None = None


class ClosedChat(NamedTuple):
    """A chat just closed for want of an answer, and where to tell the customer."""

    id: uuid.UUID
    instance_id: uuid.UUID
    remote_jid: str


class TeamRow(NamedTuple):
    """An active user with their switch and open chats."""

    user_id: uuid.UUID
    name: str
    role: str
    accepting: bool
    open_conversations: int
    last_assigned_at: datetime | None
    department_ids: list[uuid.UUID]


def _waiting(company_id: uuid.UUID) -> ColumnElement[bool]:
    """A chat waits for someone when it is open, has nobody, is 1:1 (groups stay with
    whoever takes them) and its customer wrote last: a campaign's message starts chats nobody
    needs to answer until the customer does."""
    chat = EvolutionConversation
    return and_(
        chat.company_id == company_id,
        chat.assignee_id.is_(None),
        chat.status == "open",
        ~chat.is_group,
        chat.last_message_from_me.is_(False),
    )


def _departments_of(user_id: Any) -> ScalarSelect[Any]:
    """The ids of the departments a user works in (NULL: none)."""
    return (
        select(func.array_agg(DepartmentMember.department_id))
        .where(DepartmentMember.user_id == user_id)
        .scalar_subquery()
    )


def _open_of(company_id: uuid.UUID, user_id: Any) -> ScalarSelect[int]:
    chat = EvolutionConversation
    return (
        select(func.count())
        .where(chat.company_id == company_id, chat.assignee_id == user_id, chat.status == "open")
        .scalar_subquery()
    )


async def get_settings(session: AsyncSession, company_id: uuid.UUID) -> DistributionSettings | None:
    """The company's row (None until an admin saves one)."""
    return await session.get(DistributionSettings, company_id)


async def save_settings(
    session: AsyncSession, company_id: uuid.UUID, values: dict[str, Any]
) -> DistributionSettings:
    """Create or replace the company's settings; the row as stored."""
    return await save_company_row(session, DistributionSettings, company_id, values)


async def availability(
    session: AsyncSession, company_id: uuid.UUID, user_id: uuid.UUID
) -> tuple[bool, bool]:
    """(the company distributes, the user's switch is on), each off when never set, in one
    read: every panel page asks for it."""
    enabled = (
        select(DistributionSettings.enabled)
        .where(DistributionSettings.company_id == company_id)
        .scalar_subquery()
    )
    accepting = (
        select(AgentAvailability.accepting)
        .where(AgentAvailability.user_id == user_id)
        .scalar_subquery()
    )
    row = (
        await session.execute(
            select(func.coalesce(enabled, False), func.coalesce(accepting, False))
        )
    ).one()
    return bool(row[0]), bool(row[1])


async def set_accepting(
    session: AsyncSession, company_id: uuid.UUID, user_id: uuid.UUID, accepting: bool
) -> None:
    """Turn the user's switch on or off (RLS: only their own)."""
    values = {"accepting": accepting, "changed_at": func.now()}
    await session.execute(
        insert(AgentAvailability)
        .values(company_id=company_id, user_id=user_id, **values)
        .on_conflict_do_update(index_elements=[AgentAvailability.user_id], set_=values)
    )


async def team(session: AsyncSession, company_id: uuid.UUID) -> list[TeamRow]:
    """Every active user of the company by name, with switch, open chats and departments."""
    name = func.coalesce(func.nullif(Profile.display_name, ""), Profile.email)
    statement = (
        select(
            Profile.id,
            name,
            Profile.role,
            func.coalesce(AgentAvailability.accepting, False),
            _open_of(company_id, Profile.id),
            AgentAvailability.last_assigned_at,
            _departments_of(Profile.id),
        )
        .outerjoin(AgentAvailability, AgentAvailability.user_id == Profile.id)
        .where(Profile.company_id == company_id, Profile.active)
        .order_by(func.lower(name), Profile.id)
    )
    return [
        TeamRow(user_id, name, role, accepting, load, last, list(member_of or ()))
        for user_id, name, role, accepting, load, last, member_of in await session.execute(
            statement
        )
    ]


async def waiting_count(session: AsyncSession, company_id: uuid.UUID) -> int:
    """How many chats wait for someone (what the caller may see of them)."""
    statement = select(func.count()).where(_waiting(company_id))
    return int((await session.execute(statement)).scalar_one())


async def active_settings(session: AsyncSession) -> list[DistributionSettings]:
    """Companies that distribute or close idle chats (service role)."""
    statement = select(DistributionSettings).where(
        DistributionSettings.enabled | DistributionSettings.idle_close_hours.is_not(None)
    )
    return list((await session.scalars(statement)).all())


async def lock_company(session: AsyncSession, company_id: uuid.UUID) -> None:
    """Serialise the company's distribution until the transaction ends: two workers counting
    the same agents' chats at once would both see room for one more."""
    await session.execute(
        text("select pg_advisory_xact_lock(hashtextextended('distribution:' || :company, 0))"),
        {"company": str(company_id)},
    )


async def waiting_conversations(
    session: AsyncSession, company_id: uuid.UUID, limit: int, now: datetime
) -> list[Waiting]:
    """The chats waiting longest, locked (a chat being written to is skipped this round), but
    not those whose customer is still choosing a department in the menu (for a while only:
    someone who never answers is served all the same; departments.repository.choosing)."""
    chat, cycle = EvolutionConversation, ConversationCycle
    # Oldest wait first: since the start of the open service cycle (the first message after
    # the last close), not the latest message, so a customer who keeps writing keeps their
    # place in line.
    cycle_start = (
        select(func.max(cycle.started_at))
        .where(cycle.conversation_id == chat.id, cycle.closed_at.is_(None))
        .scalar_subquery()
    )
    statement = (
        select(chat.id, chat.department_id)
        .where(_waiting(company_id), ~choosing(now))
        .order_by(func.coalesce(cycle_start, chat.last_inbound_at, chat.created_at), chat.id)
        .limit(limit)
        .with_for_update(of=chat, skip_locked=True)
    )
    return [Waiting._make(row) for row in await session.execute(statement)]


async def candidates(session: AsyncSession, company_id: uuid.UUID) -> list[Candidate]:
    """Active users of the company whose switch is on."""
    available = AgentAvailability
    statement = (
        select(
            available.user_id,
            _open_of(company_id, available.user_id),
            available.last_assigned_at,
            _departments_of(available.user_id),
        )
        .join(
            Profile,
            and_(
                Profile.id == available.user_id,
                Profile.company_id == available.company_id,
                Profile.active,
            ),
        )
        .where(available.company_id == company_id, available.accepting)
    )
    return [
        Candidate(user_id, load, last, frozenset(member_of or ()))
        for user_id, load, last, member_of in await session.execute(statement)
    ]


async def give(session: AsyncSession, conversation_id: uuid.UUID, user_id: uuid.UUID) -> bool:
    """Assign the chat if it still has nobody and is open (someone may have taken it)."""
    result = await session.execute(
        text(
            "update evolution_conversations set assignee_id = :user"
            " where id = :id and assignee_id is null and status = 'open' returning id"
        ),
        {"id": conversation_id, "user": user_id},
    )
    return result.first() is not None


async def stamp_assigned(session: AsyncSession, assigned: dict[uuid.UUID, datetime]) -> None:
    """Record when each agent last received a chat (the round robin's order)."""
    for user_id, at in assigned.items():
        await session.execute(
            text("update agent_availability set last_assigned_at = :at where user_id = :user"),
            {"at": at, "user": user_id},
        )


async def release(session: AsyncSession, user_id: uuid.UUID) -> list[uuid.UUID]:
    """Unassign the user's chats that are not closed (those the caller may update); their ids.
    Closed chats keep who served them."""
    chat = EvolutionConversation
    statement = (
        update(chat)
        .where(chat.assignee_id == user_id, chat.status != "closed")
        .values(assignee_id=None)
        .returning(chat.id)
    )
    return list((await session.scalars(statement)).all())


async def is_member(session: AsyncSession, company_id: uuid.UUID, user_id: uuid.UUID) -> bool:
    """Whether the user belongs to the company (active or not)."""
    statement = select(Profile.id).where(Profile.id == user_id, Profile.company_id == company_id)
    return (await session.scalars(statement)).first() is not None


# Idle: open, 1:1, our message last and older than the cutoff. Pending (snoozed) chats wait
# for their moment; a chat whose customer wrote last waits for us, never closed. Row locks
# skipped: a chat being written to right now is not idle.
_CLOSE_IDLE = text(
    "with idle as (select id from evolution_conversations"
    "  where company_id = :company and status = 'open' and not is_group"
    "  and last_message_from_me is true and last_message_at < :cutoff"
    "  order by last_message_at limit :limit for update skip locked)"
    " update evolution_conversations c set status = 'closed', closed_at = :now"
    " from idle where c.id = idle.id returning c.id, c.instance_id, c.remote_jid"
)


async def close_idle(
    session: AsyncSession,
    company_id: uuid.UUID,
    cutoff: datetime,
    now: datetime,
    limit: int = 500,
) -> list[ClosedChat]:
    """Close the company's idle chats and end their cycles (closer: nobody); which ones."""
    rows = await session.execute(
        _CLOSE_IDLE, {"company": company_id, "cutoff": cutoff, "now": now, "limit": limit}
    )
    closed = [ClosedChat._make(row) for row in rows]
    if closed:
        await session.execute(
            text(
                "update conversation_cycles set closed_at = :now"
                " where conversation_id = any(:ids) and closed_at is null"
            ),
            {"now": now, "ids": [chat.id for chat in closed]},
        )
    return closed
