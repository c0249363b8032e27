"""Reading the inbox under the caller's RLS: conversation lists and message pages."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncSession

from zapcrm.auth.identity import Identity
from zapcrm.contacts.query import repository as contacts_query
from zapcrm.departments import repository as departments_repo
from zapcrm.exceptions import NotFound
from zapcrm.i18n import N_
from zapcrm.kit.name_search import name_words, typo_lookups
from zapcrm.kit.pagination import decode_cursor, encode_cursor
from zapcrm.messaging import cache, repository
from zapcrm.messaging.schemas import ConversationOut, MessageOut, Page
from zapcrm.models import Role

Assignee = Literal["me", "unassigned", "any"]


async def list_conversations(
    session: AsyncSession,
    identity: Identity,
    *,
    status: str | None,
    assignee: Assignee | uuid.UUID,
    instance_id: uuid.UUID | None,
    cursor: str | None,
    limit: int,
    search: str | None = None,
    department_id: uuid.UUID | None = None,
) -> Page[ConversationOut]:
    """The caller's inbox, newest activity first; RLS already hides what they may not see
    (of the chats nobody has, an operator who works in departments sees those of their
    departments and those in none: migration 0038)."""
    after = decode_cursor(cursor) if cursor else None
    # A typo is looked up among the company's name words, as the Contatos search does: a
    # common name's thousands of candidates were each given to `<<%` (bench/panel.py).
    spellings = None
    if search and (lookups := typo_lookups(name_words(search))):
        spellings = await contacts_query.words_within_typo(session, identity.company_id, lookups)
    region = await phone_region(session, identity, search)
    rows = await repository.list_conversations(
        session,
        identity.company_id,
        status=status,
        assignee_id=identity.user_id if assignee == "me" else (
            assignee if isinstance(assignee, uuid.UUID) else None
        ),
        unassigned=assignee == "unassigned",
        instance_id=instance_id,
        after=after,
        limit=limit + 1,
        search=search,
        spellings=spellings,
        department_id=department_id,
        phone_region=region,
    )  # fmt: skip
    items = [cache.conversation_out(row) for row in rows[:limit]]
    next_cursor = None
    if len(rows) > limit:
        last = items[-1]
        next_cursor = encode_cursor(last.last_message_at, last.id)
    return Page[ConversationOut](items=items, next_cursor=next_cursor)


async def phone_region(session: AsyncSession, identity: Identity, search: str | None) -> str:
    """The region whose way of writing numbers `search` reads its digits by (the company's
    default phone region: "11 98765" is a DDD and a number in Brazil). Only digits are read by
    region: for a search without any, nothing is asked and the default is returned."""
    if not search or not any(ch.isdigit() for ch in search):
        return "BR"
    _zone, region = await contacts_query.company_profile(session, identity.company_id)
    return region


async def search_finds(session: AsyncSession, search: str, texts: Sequence[str]) -> dict[str, bool]:
    """For each contact name or group subject, whether the list's `search` finds it (every
    word, typos allowed as in the list): the live stream asks for a row the list may have
    found only through a typo, which Python cannot tell as pg_trgm does."""
    return await repository.search_finds(session, search, texts)


async def waiting_conversations(
    session: AsyncSession, identity: Identity, *, limit: int
) -> list[ConversationOut]:
    """Unassigned open chats waiting for a reply, the longest wait first (the home queue):
    those the caller may see, so those they take."""
    rows = await repository.list_waiting(session, identity.company_id, limit=limit)
    return [cache.conversation_out(row) for row in rows]


@dataclass(frozen=True)
class QueueCounts:
    """What the inbox tabs count: chats waiting for anyone, and the reader's with news."""

    unassigned: int
    mine_unread: int


async def waiting_scope(session: AsyncSession, identity: Identity) -> list[uuid.UUID]:
    """The departments whose waiting chats an operator takes (none: all of them). Supervisors
    and admins oversee every queue. RLS applies the rule to every read (migration 0038); the
    live stream, which decides from an event's snapshot, applies it with this."""
    if identity.has_role(Role.SUPERVISOR):
        return []
    return await departments_repo.departments_of(session, identity.company_id, identity.user_id)


async def queue_counts(session: AsyncSession, identity: Identity) -> QueueCounts:
    """Open chats nobody has taken (those the caller may see, so those they take), and the
    caller's open chats with unread messages."""
    waiting, mine = await repository.queue_counts(session, identity.company_id, identity.user_id)
    return QueueCounts(unassigned=waiting, mine_unread=mine)


async def get_conversation(session: AsyncSession, conversation_id: uuid.UUID) -> ConversationOut:
    """One conversation the caller may see; NotFound otherwise (never Forbidden: no leak)."""
    found = await find_conversation(session, conversation_id)
    if found is None:
        raise NotFound(N_("conversa não encontrada"))
    return found


async def find_conversation(
    session: AsyncSession, conversation_id: uuid.UUID
) -> ConversationOut | None:
    """One conversation if the caller may see it (RLS decides), else None."""
    rows = await repository.get_conversations(session, [conversation_id])
    return cache.conversation_out(rows[0]) if rows else None


async def list_messages(
    session: AsyncSession,
    redis: Redis,
    conversation_id: uuid.UUID,
    *,
    cursor: str | None,
    limit: int,
) -> Page[MessageOut]:
    """A page of messages, newest first; the first page comes from Redis when it is warm."""
    await get_conversation(session, conversation_id)  # RLS decides visibility
    if cursor is None:
        cached = await cache.read_page(redis, conversation_id, limit + 1)
        if cached is not None:
            return _page(cached, limit)
        rows = await repository.list_messages(
            session, conversation_id, before=None, limit=cache.PAGE_SIZE
        )
        messages = [cache.message_out(row) for row in rows]
        await cache.fill_page(redis, conversation_id, messages, whole=True)
        return _page(messages[: limit + 1], limit)
    rows = await repository.list_messages(
        session, conversation_id, before=decode_cursor(cursor), limit=limit + 1
    )
    return _page([cache.message_out(row) for row in rows], limit)


async def list_messages_through(
    session: AsyncSession, conversation_id: uuid.UUID, message_id: uuid.UUID, *, limit: int
) -> Page[MessageOut] | None:
    """The newest messages down to `message_id` (a search hit opened in its chat), with the
    cursor of the older ones; None when it is not in the conversation or when more than
    `limit` messages came after it."""
    await get_conversation(session, conversation_id)  # RLS decides visibility
    rows = await repository.list_messages_through(session, conversation_id, message_id, limit=limit)
    if not rows or rows[-1]["id"] != message_id:
        return None
    messages = [cache.message_out(row) for row in rows]
    # Whether anything is older is left to the next page: it may well be empty.
    return Page[MessageOut](
        items=messages, next_cursor=encode_cursor(messages[-1].message_timestamp, message_id)
    )


def _page(messages: list[MessageOut], limit: int) -> Page[MessageOut]:
    items = messages[:limit]
    next_cursor = None
    if len(messages) > limit:
        last = items[-1]
        next_cursor = encode_cursor(last.message_timestamp, last.id)
    return Page[MessageOut](items=items, next_cursor=next_cursor)


@dataclass(frozen=True)
class StoredMedia:
    """A message's downloaded media: where its bytes are and what they claim to be."""

    key: str
    mimetype: str | None
    file_name: str | None
    message_type: str


async def stored_media(session: AsyncSession, message_id: uuid.UUID) -> StoredMedia:
    """The media of a message the caller may see; NotFound when absent or not downloaded yet."""
    row = await repository.get_media(session, message_id)
    if row is None or not row["media_path"]:
        raise NotFound(N_("arquivo não encontrado"))
    return StoredMedia(
        key=row["media_path"],
        mimetype=row["media_mimetype"],
        file_name=row["media_file_name"],
        message_type=row["type"],
    )
