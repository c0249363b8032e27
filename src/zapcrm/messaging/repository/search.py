"""SQL of the search in what was said: messages' texts and captions through the full-text index
of migration 0029, and the team's internal notes."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from zapcrm.db import driver_mappings
from zapcrm.messaging.repository.inbox import CONVERSATION_COLUMNS

# Marks around the matched words in a snippet: control characters no message keeps (they are
# taken out of the text first), so the caller can split on them and escape the rest.
MATCH_START = "\x02"
MATCH_END = "\x03"

# The indexed expression, repeated exactly so the planner uses evolution_messages_search_idx.
_VECTOR = "app.message_search_vector(m.body, m.message_payload ->> 'caption')"
# The text indexed, without the control characters that mark matches in snippets.
_SEARCHED_TEXT = (
    "translate(concat_ws(' ', m.body, m.message_payload ->> 'caption'), chr(2) || chr(3), '')"
)
_MARKS = "'StartSel=' || chr(2) || ', StopSel=' || chr(3) || ', "
# A short message is shown whole; a long one as its best fragments around the matches.
SHORT_TEXT = 240
_WHOLE = f"{_MARKS}HighlightAll=true'"
_FRAGMENTS = (
    f'{_MARKS}MaxWords=24, MinWords=8, ShortWord=2, MaxFragments=2, FragmentDelimiter=" … "\''
)


async def search_messages(
    session: AsyncSession,
    company_id: uuid.UUID,
    query: str,
    *,
    instance_id: uuid.UUID | None,
    after: tuple[datetime, uuid.UUID] | None,
    limit: int,
    conversation_id: uuid.UUID | None = None,
) -> Sequence[dict[str, Any]]:
    """Messages whose text or caption matches `query` (to_tsquery syntax, built by the caller
    from plain words), newest first (keyset: message_timestamp desc, id desc), each with its
    conversation's columns and a snippet whose matches sit between MATCH_START and MATCH_END.

    Deleted messages are left out. The messages come from `app.searchable_messages` (migration
    0029: the messages policy's rule without its security barrier, so the full-text index
    serves the match), which needs a tenant session's claims; the snippets are built for the
    page's rows only, after the limit.
    """
    clauses = [
        "m.company_id = :company_id",
        "m.deleted_at is null",
        f"{_VECTOR} @@ to_tsquery('app.message_search', :query)",
    ]
    params: dict[str, Any] = {"company_id": company_id, "query": query, "limit": limit}
    if instance_id is not None:
        clauses.append("m.instance_id = :instance_id")
        params["instance_id"] = instance_id
    if conversation_id is not None:
        clauses.append("m.conversation_id = :conversation_id")
        params["conversation_id"] = conversation_id
    if after is not None:
        params["after_at"], params["after_id"] = after
        clauses.append("(m.message_timestamp, m.id) < (:after_at, :after_id)")
    # The page's ids first (only the sort keys for every match: a common word matches many),
    # then their texts, snippets and chats for those rows alone.
    sql = (
        "select m.id as message_id, m.message_timestamp, m.from_me, m.push_name, m.type,"  # noqa: S608 - constants, fixed clauses, bound values
        f" ts_headline('app.message_search', {_SEARCHED_TEXT},"
        "  to_tsquery('app.message_search', :query),"
        f"  case when length({_SEARCHED_TEXT}) <= {SHORT_TEXT} then {_WHOLE} else {_FRAGMENTS} end)"
        " as snippet,"
        f" {CONVERSATION_COLUMNS}"
        " from (select m.id, m.message_timestamp"
        f"  from app.searchable_messages m where {' and '.join(clauses)}"
        "  order by m.message_timestamp desc, m.id desc limit :limit) h"
        " join evolution_messages m on m.id = h.id"
        " join evolution_conversations c on c.id = m.conversation_id"
        " left join contacts ct on ct.id = c.contact_id"
        " order by h.message_timestamp desc, h.id desc"
    )
    return await driver_mappings(session, text(sql), params)


# A note's text without the control characters that mark matches in snippets.
_NOTE_TEXT = "translate(n.body, chr(2) || chr(3), '')"


async def search_notes(
    session: AsyncSession,
    company_id: uuid.UUID,
    query: str,
    *,
    after: tuple[datetime, uuid.UUID] | None,
    limit: int,
) -> Sequence[dict[str, Any]]:
    """Internal notes whose text matches `query` (to_tsquery syntax), newest first (keyset:
    created_at desc, id desc), with their chat's columns, author and a marked snippet.

    Notes are the team's own words, a few per chat: read under the notes policy (the chat's
    visibility) without an index, the same text search configuration as the messages'."""
    clauses = [
        "n.company_id = :company_id",
        "to_tsvector('app.message_search', n.body) @@ to_tsquery('app.message_search', :query)",
    ]
    params: dict[str, Any] = {"company_id": company_id, "query": query, "limit": limit}
    if after is not None:
        params["after_at"], params["after_id"] = after
        clauses.append("(n.created_at, n.id) < (:after_at, :after_id)")
    sql = (
        "select n.id as note_id, n.created_at as noted_at, n.author_id,"  # noqa: S608 - constants, fixed clauses, bound values
        " coalesce(nullif(p.display_name, ''), p.email) as author,"
        f" ts_headline('app.message_search', {_NOTE_TEXT},"
        "  to_tsquery('app.message_search', :query),"
        f"  case when length({_NOTE_TEXT}) <= {SHORT_TEXT} then {_WHOLE} else {_FRAGMENTS} end)"
        " as snippet,"
        f" {CONVERSATION_COLUMNS}"
        " from (select n.id, n.created_at from conversation_notes n"
        f"  where {' and '.join(clauses)}"
        "  order by n.created_at desc, n.id desc limit :limit) h"
        " join conversation_notes n on n.id = h.id"
        " join evolution_conversations c on c.id = n.conversation_id"
        " left join contacts ct on ct.id = c.contact_id"
        " left join profiles p on p.id = n.author_id"
        " order by h.created_at desc, h.id desc"
    )
    return await driver_mappings(session, text(sql), params)
