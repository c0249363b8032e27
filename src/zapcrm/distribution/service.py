"""Distribution rules: who may change what, how waiting chats are handed out, and when a chat
the customer stopped answering closes by itself.

Chats go to agents who switched "taking chats" on and have the panel open, the least busy
first (open chats), ties to whoever got one longest ago (a round robin among equals), never
past the company's per-agent limit. A chat nobody can take now stays unassigned, visible to
everyone as before, and goes out when someone becomes free. Callers own the transaction.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncSession

from zapcrm.accounts.audit import audit_action
from zapcrm.auth.identity import Identity
from zapcrm.distribution import presence, repository
from zapcrm.distribution.repository import Candidate, Waiting
from zapcrm.distribution.schemas import (
    AvailabilityOut,
    DistributionOut,
    DistributionSettingsIn,
    DistributionSettingsOut,
    TeamMemberOut,
)
from zapcrm.exceptions import Forbidden, NotFound
from zapcrm.i18n import N_
from zapcrm.messaging.changes import conversation_changed
from zapcrm.messaging.service.outbound import queue_automatic_text
from zapcrm.models import DistributionSettings, Role
from zapcrm.outbox import OutboxItem

# Chats handed out per company per round; a backlog drains over a few rounds.
BATCH = 200
_NEVER = datetime.min.replace(tzinfo=UTC)


async def get_settings(session: AsyncSession, identity: Identity) -> DistributionSettingsOut:
    """The company's settings (off until an admin turns them on)."""
    row = await repository.get_settings(session, identity.company_id)
    if row is None:
        return DistributionSettingsOut(enabled=False, max_open_per_agent=None)
    return _settings_out(row)


def _settings_out(row: DistributionSettings) -> DistributionSettingsOut:
    return DistributionSettingsOut(
        enabled=row.enabled,
        max_open_per_agent=row.max_open_per_agent,
        idle_close_hours=row.idle_close_hours,
        idle_close_message=row.idle_close_message,
        updated_at=row.updated_at,
    )


async def save_settings(
    session: AsyncSession, identity: Identity, body: DistributionSettingsIn
) -> DistributionSettingsOut:
    """Replace the settings (admins; RLS refuses anyone else), audited."""
    values = body.model_dump()
    row = await repository.save_settings(
        session, identity.company_id, {**values, "updated_by": identity.user_id}
    )
    await audit_action(
        session, identity, "distribution.settings_changed", "company", identity.company_id, values
    )
    return _settings_out(row)


async def availability(session: AsyncSession, identity: Identity) -> AvailabilityOut:
    """The caller's switch and whether the company distributes."""
    enabled, accepting = await repository.availability(
        session, identity.company_id, identity.user_id
    )
    return AvailabilityOut(accepting=accepting, distribution_enabled=enabled)


async def set_availability(
    session: AsyncSession, identity: Identity, accepting: bool
) -> AvailabilityOut:
    """Turn the caller's own switch on or off."""
    await repository.set_accepting(session, identity.company_id, identity.user_id, accepting)
    return await availability(session, identity)


async def release(
    session: AsyncSession, identity: Identity, user_id: uuid.UUID
) -> tuple[int, list[OutboxItem]]:
    """Put someone's open and pending chats back in the queue (supervisors, or anyone for
    their own): with distribution on they go to whoever is available; how many."""
    if user_id != identity.user_id and identity.role not in (Role.SUPERVISOR, Role.ADMIN):
        raise Forbidden(N_("só supervisores devolvem as conversas de um colega"))
    if not await repository.is_member(session, identity.company_id, user_id):
        raise NotFound(N_("usuário não encontrado"))
    return await release_chats(session, identity.company_id, user_id)


async def release_chats(
    session: AsyncSession, company_id: uuid.UUID, user_id: uuid.UUID
) -> tuple[int, list[OutboxItem]]:
    """Unassign the user's open and pending chats, each announced (a user deactivated must not
    keep chats nobody else sees)."""
    released = await repository.release(session, user_id)
    return len(released), [conversation_changed(company_id, chat) for chat in released]


async def overview(session: AsyncSession, redis: Redis, identity: Identity) -> DistributionOut:
    """Settings, chats waiting, and each active user's switch, presence and open chats."""
    rows = await repository.team(session, identity.company_id)
    online = await presence.present_among(redis, identity.company_id, [r.user_id for r in rows])
    return DistributionOut(
        settings=await get_settings(session, identity),
        waiting=await repository.waiting_count(session, identity.company_id),
        team=[
            TeamMemberOut(
                user_id=row.user_id,
                name=row.name,
                role=row.role,
                accepting=row.accepting,
                online=row.user_id in online,
                open_conversations=row.open_conversations,
                last_assigned_at=row.last_assigned_at,
                department_ids=row.department_ids,
            )
            for row in rows
        ],
    )


def plan(
    waiting: Sequence[Waiting],
    agents: Sequence[Candidate],
    limit: int | None,
    now: datetime,
) -> list[tuple[uuid.UUID, uuid.UUID]]:
    """(chat, agent) pairs for the waiting chats in order: each to the agent with the fewest
    open chats, ties to the one served longest ago, none to an agent at the limit. A chat in
    a department goes only to its members; one in none, to anyone."""
    # Per agent: (open chats, served at, turn in this round): the smallest is next.
    standing = {
        agent.user_id: (agent.open_conversations, agent.last_assigned_at or _NEVER, 0)
        for agent in agents
    }
    members = {agent.user_id: agent.departments for agent in agents}
    pairs = []
    for turn, chat in enumerate(waiting, start=1):
        eligible = [
            user_id
            for user_id in standing
            if chat.department_id is None or chat.department_id in members[user_id]
        ]
        if not eligible:
            continue  # nobody of its department is taking chats: it keeps waiting
        user_id = min(eligible, key=lambda user: (*standing[user], user))
        load = standing[user_id][0]
        if limit is not None and load >= limit:
            continue  # its least busy colleague is full: so are the others who could take it
        pairs.append((chat.id, user_id))
        # Served now: behind everyone with the same load, in this round's order.
        standing[user_id] = (load + 1, now, turn)
    return pairs


async def close_idle(
    session: AsyncSession,
    company_id: uuid.UUID,
    hours: int,
    message: str | None = None,
    now: datetime | None = None,
) -> list[OutboxItem]:
    """Close the company's open 1:1 chats whose last message is ours and older than `hours`
    (the customer stopped answering); their cycles end with nobody as the closer, and each
    customer is told `message` when there is one (queued like any send, marked automatic:
    never an agent's reply, never the chat's latest line in the inbox). A chat whose
    customer wrote last is never closed: it waits for us. Service role; announced."""
    now = now or datetime.now(UTC)
    closed = await repository.close_idle(session, company_id, now - timedelta(hours=hours), now)
    items = [conversation_changed(company_id, chat.id) for chat in closed]
    if not message:
        return items
    for chat in closed:
        _message_id, sends = await queue_automatic_text(
            session,
            company_id=company_id,
            instance_id=chat.instance_id,
            conversation_id=chat.id,
            remote_jid=chat.remote_jid,
            body=message,
            payload={"closing_reply": True},
            at=now,
            inbox=False,
        )
        items += sends
    return items


async def distribute(
    session: AsyncSession,
    redis: Redis,
    company_id: uuid.UUID,
    limit: int | None,
    now: datetime | None = None,
) -> list[OutboxItem]:
    """Hand out the company's waiting chats (service role); the announcement of each."""
    await repository.lock_company(session, company_id)
    now = now or datetime.now(UTC)
    waiting = await repository.waiting_conversations(session, company_id, BATCH, now)
    if not waiting:
        return []
    agents = await repository.candidates(session, company_id)
    online = await presence.present_among(redis, company_id, [a.user_id for a in agents])
    pairs = plan(waiting, [a for a in agents if a.user_id in online], limit, now)
    announced: list[OutboxItem] = []
    served: dict[uuid.UUID, datetime] = {}
    for conversation_id, user_id in pairs:
        if await repository.give(session, conversation_id, user_id):
            served[user_id] = now + timedelta(microseconds=len(announced))
            announced.append(conversation_changed(company_id, conversation_id, distributed=True))
    await repository.stamp_assigned(session, served)
    return announced
