"""SQL of a chat's transcript: its messages (and, when asked, its internal notes) in time
order, with the name of the colleague who sent or wrote each."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import Select, false, func, literal, null, select, union_all
from sqlalchemy.orm import aliased

from zapcrm.models import ConversationNote, EvolutionMessage, Profile


def _name(profile: Any) -> Any:
    return func.coalesce(func.nullif(profile.display_name, ""), profile.email)


def transcript_statement(conversation_id: uuid.UUID, *, with_notes: bool) -> Select[Any]:
    """Rows (kind, at, id, from_me, sender, push_name, type, body, payload, file_name, status,
    edited, deleted) oldest first; kind is 'message' or 'note'. RLS decides whether the caller may
    read the chat."""
    sender = aliased(Profile)
    message = EvolutionMessage
    messages = (
        select(
            literal("message").label("kind"),
            message.message_timestamp.label("at"),
            message.id.label("id"),
            message.from_me.label("from_me"),
            _name(sender).label("sender"),
            message.push_name.label("push_name"),
            message.type.label("type"),
            message.body.label("body"),
            message.message_payload.label("payload"),
            message.media_file_name.label("file_name"),
            message.status.label("status"),
            (message.edited_at.is_not(None)).label("edited"),
            (message.deleted_at.is_not(None)).label("deleted"),
        )
        .outerjoin(sender, sender.id == message.sent_by)
        .where(message.conversation_id == conversation_id)
    )
    parts: Any = messages
    if with_notes:
        author = aliased(Profile)
        note = ConversationNote
        notes = (
            select(
                literal("note"),
                note.created_at,
                note.id,
                literal(True),
                _name(author),
                null(),
                literal("text"),
                note.body,
                null(),
                null(),
                null(),
                (note.edited_at.is_not(None)),
                false(),
            )
            .outerjoin(author, author.id == note.author_id)
            .where(note.conversation_id == conversation_id)
        )
        parts = union_all(messages, notes)
    rows = parts.subquery()
    return select(rows).order_by(rows.c.at, rows.c.id)
