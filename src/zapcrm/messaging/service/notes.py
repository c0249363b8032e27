"""Private notes: what agents write for each other inside a conversation.

A note is stored and announced live (`note.created`, through the outbox), never queued for
WhatsApp. Whoever sees the conversation sees and writes its notes: RLS (migration 0011) applies
the conversation's own rule, so an operator's notes stay in their own and unassigned chats.
"""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from zapcrm.auth.identity import Identity
from zapcrm.exceptions import NotFound, ValidationFailed
from zapcrm.messaging import repository
from zapcrm.messaging.repository import notes
from zapcrm.messaging.schemas import NoteOut
from zapcrm.outbox import INCOMING_STREAM, OutboxItem

MAX_NOTE_LENGTH = 4096
DEFAULT_LIMIT = 100


async def _visible(session: AsyncSession, conversation_id: uuid.UUID) -> None:
    if not await repository.get_conversations(session, [conversation_id]):  # RLS decides
        raise NotFound("conversa não encontrada")


async def add_note(
    session: AsyncSession, identity: Identity, conversation_id: uuid.UUID, body: str
) -> tuple[NoteOut, list[OutboxItem]]:
    """Write a note in a conversation the caller sees; the outbox item announces it live."""
    text = body.strip()
    if not text:
        raise ValidationFailed("a nota está vazia", fields=[{"field": "body", "message": "vazia"}])
    if len(text) > MAX_NOTE_LENGTH:
        raise ValidationFailed(
            f"a nota passa de {MAX_NOTE_LENGTH} caracteres",
            fields=[{"field": "body", "message": f"até {MAX_NOTE_LENGTH} caracteres"}],
        )
    await _visible(session, conversation_id)
    note_id = await notes.insert_note(
        session,
        company_id=identity.company_id,
        conversation_id=conversation_id,
        author_id=identity.user_id,
        body=text,
    )
    [row] = await notes.get_notes(session, [note_id])
    announce = OutboxItem(
        INCOMING_STREAM,
        {
            "kind": "note",
            "change": "created",
            "company_id": str(identity.company_id),
            "conversation_id": str(conversation_id),
            "note_id": str(note_id),
        },
    )
    return NoteOut(**row), [announce]


async def list_notes(
    session: AsyncSession,
    identity: Identity,
    conversation_id: uuid.UUID,
    *,
    limit: int = DEFAULT_LIMIT,
) -> list[NoteOut]:
    """The conversation's latest notes, newest first (like its messages)."""
    await _visible(session, conversation_id)
    rows = await notes.list_notes(session, identity.company_id, conversation_id, limit=limit)
    return [NoteOut(**row) for row in rows]
