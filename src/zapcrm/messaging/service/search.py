"""Searching what was said: messages whose text or caption has the words a person typed, and
the team's internal notes that have them.

Words match accent- and case-insensitively, in any inflection the Portuguese stemmer knows
("pedidos" finds "pedido"), and as prefixes, so a search typed halfway already finds. Every
word must be there (AND). The caller's RLS decides which conversations are searched.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from zapcrm.auth.identity import Identity
from zapcrm.exceptions import BadRequest, ValidationFailed
from zapcrm.i18n import N_
from zapcrm.kit.pagination import decode_cursor, encode_cursor
from zapcrm.messaging import cache
from zapcrm.messaging.repository import search as repository
from zapcrm.messaging.schemas import MessageHit, NoteHit, Page, SnippetPart

MAX_WORDS = 8
# Letters and digits only: whatever else was typed (quotes, &, |, !, :) separates words and can
# never reach to_tsquery as an operator.
_WORD = re.compile(r"[^\W_]+")
_MARKS = re.compile(f"({re.escape(repository.MATCH_START)}|{re.escape(repository.MATCH_END)})")


def text_query(search: str) -> str | None:
    """The to_tsquery text for what was typed (each word quoted, as a prefix, all required);
    None when it has no word of at least two letters or digits to look for."""
    words = _WORD.findall(search)[:MAX_WORDS]
    if not any(len(word) >= 2 for word in words):
        return None
    return " & ".join(f"'{word}':*" for word in words)


async def search_messages(
    session: AsyncSession,
    identity: Identity,
    search: str,
    *,
    instance_id: uuid.UUID | None,
    cursor: str | None,
    limit: int,
    conversation_id: uuid.UUID | None = None,
) -> Page[MessageHit]:
    """A page of matching messages, newest first, in the conversations the caller may see (or
    in one of them)."""
    query = _required_query(search)
    after = _after(cursor)
    rows = await repository.search_messages(
        session,
        identity.company_id,
        query,
        instance_id=instance_id,
        after=after,
        limit=limit + 1,
        conversation_id=conversation_id,
    )
    items = [_hit(row) for row in rows[:limit]]
    next_cursor = None
    if len(rows) > limit:
        next_cursor = encode_cursor(items[-1].message_timestamp, items[-1].message_id)
    return Page[MessageHit](items=items, next_cursor=next_cursor)


async def search_notes(
    session: AsyncSession, identity: Identity, search: str, *, cursor: str | None, limit: int
) -> Page[NoteHit]:
    """A page of matching internal notes, newest first, in the chats the caller may see."""
    query = _required_query(search)
    rows = await repository.search_notes(
        session, identity.company_id, query, after=_after(cursor), limit=limit + 1
    )
    items = [
        NoteHit(
            note_id=row["note_id"],
            noted_at=row["noted_at"],
            author_id=row["author_id"],
            author=row["author"],
            snippet=snippet_parts(row["snippet"] or ""),
            conversation=cache.conversation_out(row),
        )
        for row in rows[:limit]
    ]
    next_cursor = None
    if len(rows) > limit:
        next_cursor = encode_cursor(items[-1].noted_at, items[-1].note_id)
    return Page[NoteHit](items=items, next_cursor=next_cursor)


def _required_query(search: str) -> str:
    query = text_query(search)
    if query is None:
        raise ValidationFailed.on_field(
            "q", N_("digite ao menos uma palavra com duas letras ou números")
        )
    return query


def _after(cursor: str | None) -> tuple[datetime, uuid.UUID] | None:
    if not cursor:
        return None
    at, row_id = decode_cursor(cursor)
    if at is None:
        raise BadRequest(N_("cursor de paginação inválido"))
    return at, row_id


def snippet_parts(snippet: str) -> list[SnippetPart]:
    """Split a marked snippet (repository.MATCH_START/END around matches) into its parts."""
    parts: list[SnippetPart] = []
    inside = False
    for piece in _MARKS.split(snippet):
        if piece == repository.MATCH_START:
            inside = True
        elif piece == repository.MATCH_END:
            inside = False
        elif piece:
            parts.append(SnippetPart(text=piece, match=inside))
    return parts


def _hit(row: Mapping[str, Any]) -> MessageHit:
    return MessageHit(
        message_id=row["message_id"],
        message_timestamp=row["message_timestamp"],
        from_me=row["from_me"],
        push_name=row["push_name"],
        type=row["type"],
        snippet=snippet_parts(row["snippet"] or ""),
        conversation=cache.conversation_out(row),
    )
