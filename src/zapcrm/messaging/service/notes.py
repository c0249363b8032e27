"""Private notes: what agents write for each other inside a conversation.

A note is stored and announced live (`note.created`, `note.updated`, `note.deleted`, through
the outbox), never queued for WhatsApp. Whoever sees the conversation sees and writes its
notes: RLS (migration 0012) applies the conversation's own rule, so an operator's notes stay in
their own and unassigned chats. Its author, or a supervisor or admin, may edit or delete it
(`may_change`; RLS in migration 0016 holds the same rule).
"""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from zapcrm.auth.identity import Identity
from zapcrm.exceptions import Forbidden, NotFound, ValidationFailed
from zapcrm.i18n import N_
from zapcrm.kit.folding import fold
from zapcrm.messaging import repository
from zapcrm.messaging.repository import notes
from zapcrm.messaging.schemas import NoteOut
from zapcrm.models import Role
from zapcrm.outbox import INCOMING_STREAM, OutboxItem

MAX_NOTE_LENGTH = 4096
DEFAULT_LIMIT = 100


async def _visible(session: AsyncSession, conversation_id: uuid.UUID) -> None:
    if not await repository.get_conversations(session, [conversation_id]):  # RLS decides
        raise NotFound(N_("conversa não encontrada"))


def _text(body: str) -> str:
    text = body.strip()
    if not text:
        raise ValidationFailed(
            N_("a nota está vazia"), fields=[{"field": "body", "message": N_("vazia")}]
        )
    if len(text) > MAX_NOTE_LENGTH:
        raise ValidationFailed(
            N_("a nota passa de {limit} caracteres", limit=MAX_NOTE_LENGTH),
            fields=[
                {"field": "body", "message": N_("até {limit} caracteres", limit=MAX_NOTE_LENGTH)}
            ],
        )
    return text


def _announce(
    identity: Identity,
    conversation_id: uuid.UUID,
    note_id: uuid.UUID,
    change: str,
    mentioned: set[uuid.UUID] | None = None,
) -> OutboxItem:
    payload: dict[str, object] = {
        "kind": "note",
        "change": change,
        "company_id": str(identity.company_id),
        "conversation_id": str(conversation_id),
        "note_id": str(note_id),
    }
    if mentioned:
        # Who to tell (web/pages/events.py): the stream's own rule keeps the chat from anyone
        # who may not see it, so a mention never shows an operator a colleague's chat.
        payload["mentioned"] = sorted(str(user_id) for user_id in mentioned)
    return OutboxItem(INCOMING_STREAM, payload)


# "@ana", "@Olga": a letter first, then letters, digits, dots, dashes or underscores.
_MENTION = re.compile(r"(?<![\w@])@([^\W\d_][\w.-]*)")


def _tokens(text: str) -> set[str]:
    return {fold(token).rstrip(".-") for token in _MENTION.findall(text)}


async def _mentions(
    session: AsyncSession, identity: Identity, text: str, *, before: str = ""
) -> set[uuid.UUID]:
    """Colleagues named in the text by "@" and their first name or the start of their e-mail
    (every one who matches: two Anas both hear), less those the text `before` an edit already
    named; never the author. The company's users are read once, only when someone is named."""
    tokens = _tokens(text)
    if not tokens:
        return set()
    colleagues = await notes.colleagues(session, identity.company_id)

    def named(wanted: set[str]) -> set[uuid.UUID]:
        return {
            user_id
            for user_id, name, email in colleagues
            if user_id != identity.user_id
            and {fold(name.split()[0]) if name.split() else "", fold(email.split("@")[0])} & wanted
        }

    return named(tokens) - (named(_tokens(before)) if before else set())


def may_change(identity: Identity, note: NoteOut) -> bool:
    """Whether the caller may edit or delete a note they see: its author, or a supervisor."""
    return identity.has_role(Role.SUPERVISOR) or note.author_id == identity.user_id


async def _changeable(session: AsyncSession, identity: Identity, note_id: uuid.UUID) -> NoteOut:
    rows = await notes.get_notes(session, [note_id])  # RLS: only notes of visible chats
    if not rows:
        raise NotFound(N_("nota não encontrada"))
    note = NoteOut(**rows[0])
    if not may_change(identity, note):
        raise Forbidden(N_("só quem escreveu a nota ou um supervisor pode alterá-la ou excluí-la"))
    return note


async def add_note(
    session: AsyncSession, identity: Identity, conversation_id: uuid.UUID, body: str
) -> tuple[NoteOut, list[OutboxItem]]:
    """Write a note in a conversation the caller sees; the outbox item announces it live."""
    text = _text(body)
    await _visible(session, conversation_id)
    note_id = await notes.insert_note(
        session,
        company_id=identity.company_id,
        conversation_id=conversation_id,
        author_id=identity.user_id,
        body=text,
    )
    [row] = await notes.get_notes(session, [note_id])
    mentioned = await _mentions(session, identity, text)
    return NoteOut(**row), [_announce(identity, conversation_id, note_id, "created", mentioned)]


async def edit_note(
    session: AsyncSession, identity: Identity, note_id: uuid.UUID, body: str
) -> tuple[NoteOut, list[OutboxItem]]:
    """Correct a note's text (its author or a supervisor); marked edited and announced live."""
    text = _text(body)
    note = await _changeable(session, identity, note_id)
    if text == note.body:
        return note, []  # nothing changed: no "editada" mark, nothing to announce
    if not await notes.update_note(session, note_id, body=text, edited_at=datetime.now(UTC)):
        raise NotFound(N_("nota não encontrada"))  # deleted meanwhile
    [row] = await notes.get_notes(session, [note_id])
    # Only who the edit names anew: the others heard when the note was written.
    mentioned = await _mentions(session, identity, text, before=note.body)
    return NoteOut(**row), [
        _announce(identity, note.conversation_id, note_id, "updated", mentioned)
    ]


async def delete_note(
    session: AsyncSession, identity: Identity, note_id: uuid.UUID
) -> list[OutboxItem]:
    """Remove a note (its author or a supervisor); open pages drop it live."""
    note = await _changeable(session, identity, note_id)
    if not await notes.delete_note(session, note_id):
        raise NotFound(N_("nota não encontrada"))  # deleted meanwhile
    return [_announce(identity, note.conversation_id, note_id, "deleted")]


async def list_notes(
    session: AsyncSession,
    identity: Identity,
    conversation_id: uuid.UUID,
    *,
    limit: int | None = DEFAULT_LIMIT,
    since: datetime | None = None,
    before: datetime | None = None,
) -> list[NoteOut]:
    """The conversation's latest notes, newest first (like its messages): at most `limit`
    (None: all of them), written from `since` (inclusive) and before `before` (exclusive)
    when given. A chat page reads its time window with no limit (pages/inbox/chat.py)."""
    await _visible(session, conversation_id)
    rows = await notes.list_notes(
        session, identity.company_id, conversation_id, limit=limit, since=since, before=before
    )
    return [NoteOut(**row) for row in rows]
