"""SQL of private conversation notes: write, edit and delete one, read a conversation's or by id."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, delete, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from zapcrm.models import ConversationNote, Profile


def _notes(*where: ColumnElement[bool]) -> Select[*tuple[Any, ...]]:
    author = func.coalesce(func.nullif(Profile.display_name, ""), Profile.email)
    return (
        select(
            ConversationNote.id,
            ConversationNote.conversation_id,
            ConversationNote.author_id,
            author.label("author_name"),
            ConversationNote.body,
            ConversationNote.created_at,
            ConversationNote.edited_at,
            ConversationNote.version,
        )
        .outerjoin(Profile, Profile.id == ConversationNote.author_id)
        .where(*where)
    )


async def insert_note(
    session: AsyncSession,
    *,
    company_id: uuid.UUID,
    conversation_id: uuid.UUID,
    author_id: uuid.UUID,
    body: str,
) -> uuid.UUID:
    """Store a note and return its id (RLS refuses a conversation the author cannot see)."""
    statement = (
        insert(ConversationNote)
        .values(
            company_id=company_id, conversation_id=conversation_id, author_id=author_id, body=body
        )
        .returning(ConversationNote.id)
    )
    note_id: uuid.UUID = (await session.execute(statement)).scalar_one()
    return note_id


async def list_notes(
    session: AsyncSession,
    company_id: uuid.UUID,
    conversation_id: uuid.UUID,
    *,
    limit: int | None,
    since: datetime | None = None,
    before: datetime | None = None,
) -> Sequence[dict[str, Any]]:
    """A conversation's latest notes (created from `since` and before `before`, when given),
    newest first; all of them when `limit` is None. One range scan of
    conversation_notes_conversation_idx (conversation_id, created_at desc, id desc)."""
    conditions = [
        ConversationNote.company_id == company_id,
        ConversationNote.conversation_id == conversation_id,
    ]
    if since is not None:
        conditions.append(ConversationNote.created_at >= since)
    if before is not None:
        conditions.append(ConversationNote.created_at < before)
    statement = _notes(*conditions).order_by(
        ConversationNote.created_at.desc(), ConversationNote.id.desc()
    )
    if limit is not None:
        statement = statement.limit(limit)
    return [dict(row._mapping) for row in await session.execute(statement)]


async def get_notes(session: AsyncSession, ids: Sequence[uuid.UUID]) -> Sequence[dict[str, Any]]:
    """Notes by id (RLS applies in a tenant session)."""
    if not ids:
        return []
    statement = _notes(ConversationNote.id.in_(list(ids)))
    return [dict(row._mapping) for row in await session.execute(statement)]


async def update_note(
    session: AsyncSession, note_id: uuid.UUID, *, body: str, edited_at: datetime
) -> bool:
    """Replace a note's text; False when RLS refuses it (not the author nor a supervisor)."""
    statement = (
        update(ConversationNote)
        .where(ConversationNote.id == note_id)
        .values(body=body, edited_at=edited_at)
        .returning(ConversationNote.id)
    )
    return (await session.execute(statement)).first() is not None


async def delete_note(session: AsyncSession, note_id: uuid.UUID) -> bool:
    """Delete a note; False when RLS refuses it (not the author nor a supervisor)."""
    statement = (
        delete(ConversationNote)
        .where(ConversationNote.id == note_id)
        .returning(ConversationNote.id)
    )
    return (await session.execute(statement)).first() is not None


async def colleagues(
    session: AsyncSession, company_id: uuid.UUID
) -> list[tuple[uuid.UUID, str, str]]:
    """(id, display name, e-mail) of the company's active users, for @mentions."""
    statement = select(Profile.id, Profile.display_name, Profile.email).where(
        Profile.company_id == company_id, Profile.active
    )
    return [(row[0], row[1] or "", row[2]) for row in (await session.execute(statement)).all()]
