"""SQL of the inbox: conversation lists, one conversation, message pages, snapshots by id."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.dialects.postgresql.base import PGDialect
from sqlalchemy.ext.asyncio import AsyncSession

from zapcrm.contacts.query import source
from zapcrm.contacts.query.search import parse_search, search_clause
from zapcrm.db import driver_mappings, plan_for_values
from zapcrm.kit.name_search import (
    STRICT_THRESHOLD,
    STRICT_THRESHOLD_SQL,
    TYPO_SLACK,
    allows_typo,
    like_escape,
    like_patterns,
    matches_anywhere,
    name_words,
    other_spellings,
    typo_screen,
    whole_word_pattern,
)

CONVERSATION_COLUMNS = """
  c.id, c.company_id, c.instance_id, c.remote_jid, c.is_group, c.subject, c.status,
  c.assignee_id, c.last_message_id, c.last_message_preview, c.last_message_at,
  c.last_message_status, c.last_message_from_me, c.unread_count, c.updated_at,
  c.version, c.snoozed_until, c.department_id,
  (select d.name from departments d where d.id = c.department_id) as department_name,
  ct.id as contact_id, ct.name as contact_name, ct.phone_e164 as contact_phone
"""


def _conversations_from(chats: str) -> str:
    return f"from {chats} c left join contacts ct on ct.id = c.contact_id"


_FROM_CONVERSATIONS = _conversations_from("evolution_conversations")


def conversation_json(chats: str = "evolution_conversations", where: str = "") -> str:
    """SQL of one chat as `get_conversations` reads it, in JSON (a scalar subquery): of
    `chats` (the table, or a CTE returning its rows), narrowed by `where` (a constant clause)."""
    return (
        f"(select to_jsonb(s) from (select {CONVERSATION_COLUMNS}"  # noqa: S608 - constants
        f" {_conversations_from(chats)} {where}) s)"
    )


# The company's contacts, indexes usable (contacts/query/source.py): what searches look up.
_TENANT_CONTACTS = "select x.id from app.company_contacts x"
# The company's chats, indexes usable (migration 0049): where a search finds its candidates.
_TENANT_CHATS = "select v.id from app.company_conversations v"
_NEWEST = "{c}.last_message_at desc nulls last, {c}.id desc"
_CONVERSATIONS_BY_ID = text(
    f"select {CONVERSATION_COLUMNS} {_FROM_CONVERSATIONS} where c.id = any(:ids)"
)

MESSAGE_COLUMNS = """
  m.id, m.company_id, m.conversation_id, m.key_id, m.from_me, m.sender_jid, m.push_name,
  m.type, m.body, m.status, m.message_timestamp, m.quoted_key_id, m.media_mimetype,
  m.media_file_name, m.media_size, m.media_status, m.reactions, m.edited_at, m.deleted_at,
  m.error_detail, m.message_payload, m.version
"""
_MESSAGES_BY_ID = text(
    f"select {MESSAGE_COLUMNS} from evolution_messages m where m.id = any(:ids)"  # noqa: S608 - constants
)


async def list_conversations(
    session: AsyncSession,
    company_id: uuid.UUID,
    *,
    status: str | None,
    assignee_id: uuid.UUID | None,
    unassigned: bool,
    instance_id: uuid.UUID | None,
    after: tuple[datetime | None, uuid.UUID] | None,
    limit: int,
    search: str | None = None,
    spellings: Mapping[str, Sequence[str]] | None = None,
    department_id: uuid.UUID | None = None,
    phone_region: str = "BR",
) -> Sequence[dict[str, Any]]:
    """Conversations by latest activity (keyset: last_message_at desc nulls last, id desc).

    `search` finds a chat when every word typed is in the contact's name or in the group's
    subject (accent- and case-insensitive; a word of 4+ letters also with a typo: "silva
    joao", "joao silvq" find "João Silva"), or by 3+ digits: anywhere in the chat's JID, or
    read as the Contatos search reads a number (its start, with or without `+55` and the DDD
    of `phone_region`'s numbers, or its last 4+ digits) in the contact's phone.
    `spellings`: for the search's words that kit/name_search.py `typo_lookups` names, the
    company's name words within a typo of each (contacts' `words_within_typo`): a contact's
    name then matches a typo by holding one of them, as the Contatos search does.
    `department_id` keeps one department's chats.
    Under RLS (migration 0038), an operator's unassigned chats are already those of their
    departments and those in none.
    """
    params: dict[str, Any] = {"company_id": company_id, "limit": limit}
    filters = ["{c}.company_id = :company_id"]
    if status is not None:
        filters.append("{c}.status = :status")
        params["status"] = status
    if unassigned:
        filters.append("{c}.assignee_id is null")
    elif assignee_id is not None:
        filters.append("{c}.assignee_id = :assignee_id")
        params["assignee_id"] = assignee_id
    if instance_id is not None:
        filters.append("{c}.instance_id = :instance_id")
        params["instance_id"] = instance_id
    if department_id is not None:
        filters.append("{c}.department_id = :department_id")
        params["department_id"] = department_id
    if after is not None:
        at, last_id = after
        params["after_id"] = last_id
        if at is None:
            filters.append("{c}.last_message_at is null and {c}.id < :after_id")
        else:
            params["after_at"] = at
            filters.append(
                "({c}.last_message_at < :after_at or {c}.last_message_at is null"
                " or ({c}.last_message_at = :after_at and {c}.id < :after_id))"
            )
    where = " and ".join(filters)
    clauses = [where.format(c="c")]
    if search:
        clauses.append(_search_clause(search, where, params, spellings or {}, phone_region))
        # Whether the contacts found fit a hashed set depends on the words: planned for them.
        await plan_for_values(session)
    sql = (
        f"select {CONVERSATION_COLUMNS} {_FROM_CONVERSATIONS} where {' and '.join(clauses)}"
        f" order by {_NEWEST.format(c='c')} limit :limit"
    )
    return [dict(row._mapping) for row in await session.execute(text(sql), params)]


def _search_clause(
    search: str,
    where: str,
    params: dict[str, Any],
    spellings: Mapping[str, Sequence[str]],
    phone_region: str,
) -> str:
    """Every word in the contact's name, or every word in the group's subject (the Contatos
    page's word rules, kit/name_search.py), or 3+ digits in the chat's JID or, read as a
    number, in the contact's phone. `where` is the list's other conditions, `{c}` standing for
    the chats' alias. The name words (`spellings`) are contacts' names': a group's subject
    keeps `<<%` for its typos."""
    words = name_words(search)
    digits = "".join(ch for ch in search if ch.isdigit())
    numbers = ""
    if len(digits) >= 3:
        params["search_digits"] = f"%{digits}%"
        numbers = _contacts_with_number(digits, phone_region, params)
    if words and not any(map(matches_anywhere, words)):
        return _short_words_clause(words, numbers, params)
    # Each way to match gives its page of chats, under RLS and the list's conditions, and the
    # list keeps the newest of those pages. Each page is planned on its own: a part found in
    # many chats ("silva maria", "119") walks the newest chats checking each against a hashed
    # set, a rare one reads only its candidates through an index (migration 0049). As one OR,
    # every chat was checked against every part: a search that found nothing read all 80,000
    # open chats (~40 ms, bench/panel.py), and a rare name joined row by row took ~0.4 s.
    # Candidates come from the tenant views: under RLS neither LIKE nor pg_trgm could use an
    # index (contacts/query/source.py).
    page = (
        "(select n.id from evolution_conversations n where {where} and {found}"
        " order by {newest} limit :limit)"
    )
    parts = []
    if words:
        found = _words_clause("x.search_name", words, params, spellings)
        parts.append(f"n.contact_id in ({_TENANT_CONTACTS} where {found})")
        # Only groups have a subject: the partial index holds them alone.
        subject = _words_clause("app.search_text(v.subject)", words, params)
        parts.append(f"n.id in ({_TENANT_CHATS} where v.subject is not null and {subject})")
    if numbers:
        parts.append(f"n.contact_id in ({numbers})")
        parts.append(f"n.id in ({_TENANT_CHATS} where v.remote_jid like :search_digits)")
    if not parts:
        return "false"
    pages = (
        page.format(where=where.format(c="n"), found=part, newest=_NEWEST.format(c="n"))
        for part in parts
    )
    return "c.id in (" + " union all ".join(pages) + ")"


def _contacts_with_number(digits: str, region: str, params: dict[str, Any]) -> str:
    """SQL of the company's contacts whose phone the Contatos search box finds for `digits`
    (contacts/query/search.py: one implementation of how a number is typed), its values put in
    `params`. Each reading is a range on a btree of the number (migrations 0041, 0046): 3 digits
    anywhere in it would need a trigram index, which cost the import more than the inbox gained
    (migration 0060); a chat's JID, which holds its number, keeps that one."""
    term = parse_search(digits, region)
    assert term is not None, digits  # digits only: always read as a number
    query = select(source.contacts().c.id).where(search_clause(term))
    compiled = query.compile(dialect=_NAMED_PARAMETERS)
    params.update(compiled.params)
    return str(compiled)


# Core SQL embedded in this module's text(): its placeholders written `:name` as text() reads.
_NAMED_PARAMETERS = PGDialect(paramstyle="named")  # type: ignore[no-untyped-call]


def _short_words_clause(words: Sequence[str], numbers: str, params: dict[str, Any]) -> str:
    """Words of 1-2 letters only: no trigram to look up, and so many names may start a word
    that the contacts found might not fit a hashed set (Postgres would then scan it for every
    chat): every open chat compared row by row instead (LIKE only: no typos under 4 letters)."""
    options = [_words_clause("ct.search_name", words, params)]
    # A chat with a person has no subject: skip its search_text() call.
    subject = _words_clause("app.search_text(c.subject)", words, params)
    options.append(f"(c.subject is not null and {subject})")
    if numbers:
        options.append(f"c.contact_id in ({numbers})")
        options.append("c.remote_jid like :search_digits")
    return "(" + " or ".join(options) + ")"


def _words_clause(
    folded: str,
    words: Sequence[str],
    params: dict[str, Any],
    spellings: Mapping[str, Sequence[str]] | None = None,
) -> str:
    """SQL that holds when every word is in `folded` (text already `app.search_text`-ed), as
    it is or, for a word of 4+ letters, with a typo: by holding one of its `spellings` (see
    kit/name_search.py `other_spellings`) or else by `<<%`; the values go in `params`, never
    the SQL."""
    clauses = []
    for index, word in enumerate(words):
        matches = []
        for number, pattern in enumerate(like_patterns(word)):
            params[f"search_like_{index}_{number}"] = pattern
            # LIKE's escape character is backslash by default, as like_patterns writes them.
            matches.append(f"{folded} like app.search_text(:search_like_{index}_{number})")
        others = other_spellings(word, spellings) if spellings else None
        if others:
            matches.append(_holds_word(folded, others, index, params))
        elif allows_typo(word) and others is None:
            params[f"search_word_{index}"] = word
            similar = f"app.search_text(:search_word_{index}) <<% {folded}"
            screen = _typo_screen(word, folded, index, params)
            matches.append(similar if screen is None else f"({screen} and {similar})")
        clauses.append("(" + " or ".join(matches) + ")")
    return "(" + " and ".join(clauses) + ")"


def _holds_word(folded: str, words: Sequence[str], index: int, params: dict[str, Any]) -> str:
    """SQL holding when `folded` has one of `words` (folded name words) as a whole word: the
    LIKEs test what the regular expression then confirms (contacts/query/search.py's
    `_holds_word`, whose comment says why both)."""
    held = []
    for number, word in enumerate(words):
        params[f"search_spelling_{index}_{number}"] = f"%{like_escape(word)}%"
        held.append(f"{folded} like :search_spelling_{index}_{number}")
    params[f"search_whole_{index}"] = whole_word_pattern(words)
    return f"(({' or '.join(held)}) and regexp_like({folded}, :search_whole_{index}))"


def _typo_screen(word: str, folded: str, index: int, params: dict[str, Any]) -> str | None:
    """kit/name_search.py `typo_screen` as SQL on `folded`: every text `word <<% folded`
    holds for passes it, most others fail it at a few LIKEs (a common name's ~15,000
    candidates were each given to `<<%`). The thresholds are read once per statement."""
    screen = typo_screen(word)
    if screen is None:
        return None
    names = {}
    for number, piece in enumerate(sorted(set(screen.pieces))):
        names[piece] = f"search_piece_{index}_{number}"
        params[names[piece]] = f"%{piece}%"
    present = " + ".join(f"({folded} like :{names[piece]})::int" for piece in screen.pieces)
    needed = f"(select {STRICT_THRESHOLD_SQL} * {screen.trigrams} - {screen.counted + TYPO_SLACK})"
    quick = " or ".join(
        [f"(select {STRICT_THRESHOLD_SQL} < {STRICT_THRESHOLD})"]
        + [f"{folded} like :{names[piece]}" for piece in screen.quick]
    )
    multibyte = f"octet_length({folded}) <> char_length({folded})"
    return f"((({quick}) and {present} >= {needed}) or {multibyte})"


async def search_finds(session: AsyncSession, search: str, texts: Sequence[str]) -> dict[str, bool]:
    """Whether the list's search finds every word in each text (a contact's name or a group's
    subject as stored), by the same SQL as `list_conversations`: for rows arriving live.
    Typos are tested by `<<%`, as the list tests a subject's: a name the list finds through a
    name word within a typo is found by `<<%` too, and the one it may find and the list not
    (within a typo only of an extent of several of its words, while some name word is within
    one of the typed word) shows live until the list is read again."""
    words = name_words(search)
    if not texts or not words:
        return dict.fromkeys(texts, False)
    params: dict[str, Any] = {"texts": list(texts)}
    found = _words_clause("app.search_text(t.value)", words, params)
    sql = (
        f"select t.value, {found} as found"  # noqa: S608 - constants and bound values
        " from unnest(cast(:texts as text[])) as t(value)"
    )
    rows = await session.execute(text(sql), params)
    return {row.value: bool(row.found) for row in rows}


async def list_waiting(
    session: AsyncSession,
    company_id: uuid.UUID,
    *,
    limit: int,
) -> Sequence[dict[str, Any]]:
    """Open, unassigned conversations whose customer spoke last, longest waiting first."""
    sql = (
        f"select {CONVERSATION_COLUMNS} {_FROM_CONVERSATIONS}"
        f" where c.company_id = :company_id and c.status = 'open' and c.assignee_id is null"
        " and c.last_message_from_me is not true and c.last_message_at is not null"
        " order by c.last_message_at asc, c.id limit :limit"
    )
    params = {"company_id": company_id, "limit": limit}
    return [dict(row._mapping) for row in await session.execute(text(sql), params)]


async def queue_counts(
    session: AsyncSession,
    company_id: uuid.UUID,
    user_id: uuid.UUID,
) -> tuple[int, int]:
    """(open chats nobody has; the user's open chats with unread messages), under RLS."""
    row = (
        await session.execute(
            text(
                "select count(*) filter (where c.assignee_id is null) as waiting,"
                " count(*) filter (where c.assignee_id = :user_id and c.unread_count > 0)"
                " as mine_unread"
                " from evolution_conversations c"
                " where c.company_id = :company_id and c.status = 'open'"
            ),
            {"company_id": company_id, "user_id": user_id},
        )
    ).one()
    return int(row.waiting), int(row.mine_unread)


async def get_conversations(
    session: AsyncSession, ids: Sequence[uuid.UUID]
) -> Sequence[dict[str, Any]]:
    """Conversations by id (RLS applies in a tenant session)."""
    if not ids:
        return []
    # Straight on psycopg (db.driver_rows): every send and every queued event reads these.
    return await driver_mappings(session, _CONVERSATIONS_BY_ID, {"ids": list(ids)})


async def list_messages(
    session: AsyncSession,
    conversation_id: uuid.UUID,
    *,
    before: tuple[datetime | None, uuid.UUID] | None,
    limit: int,
) -> Sequence[dict[str, Any]]:
    """A conversation's messages, newest first (keyset: message_timestamp desc, id desc)."""
    params: dict[str, Any] = {"conversation_id": conversation_id, "limit": limit}
    where = "m.conversation_id = :conversation_id"
    if before is not None:
        params["before_at"], params["before_id"] = before
        where += (
            " and (m.message_timestamp < :before_at"
            " or (m.message_timestamp = :before_at and m.id < :before_id))"
        )
    sql = (
        f"select {MESSAGE_COLUMNS} from evolution_messages m where {where}"  # noqa: S608 - constants
        " order by m.message_timestamp desc, m.id desc limit :limit"
    )
    return [dict(row._mapping) for row in await session.execute(text(sql), params)]


async def list_messages_through(
    session: AsyncSession, conversation_id: uuid.UUID, message_id: uuid.UUID, *, limit: int
) -> Sequence[dict[str, Any]]:
    """A conversation's newest messages down to `message_id` (inclusive), newest first, at most
    `limit`: the last row is that message unless more than `limit` came after it. None of it
    when the message is not in this conversation."""
    sql = (
        f"select {MESSAGE_COLUMNS} from evolution_messages m"  # noqa: S608 - constants
        " where m.conversation_id = :conversation_id and (m.message_timestamp, m.id) >= ("
        "  select t.message_timestamp, t.id from evolution_messages t"
        "  where t.id = :message_id and t.conversation_id = :conversation_id)"
        " order by m.message_timestamp desc, m.id desc limit :limit"
    )
    params = {"conversation_id": conversation_id, "message_id": message_id, "limit": limit}
    return [dict(row._mapping) for row in await session.execute(text(sql), params)]


async def get_messages(session: AsyncSession, ids: Sequence[uuid.UUID]) -> Sequence[dict[str, Any]]:
    """Messages by id."""
    if not ids:
        return []
    return await driver_mappings(session, _MESSAGES_BY_ID, {"ids": list(ids)})


async def get_media(session: AsyncSession, message_id: uuid.UUID) -> dict[str, Any] | None:
    """Where a message's stored media is and what it is (RLS applies in a tenant session)."""
    row = (
        await session.execute(
            text(
                "select m.id, m.type, m.media_path, m.media_mimetype, m.media_file_name"
                " from evolution_messages m where m.id = :id and m.deleted_at is null"
            ),
            {"id": message_id},
        )
    ).first()
    return dict(row._mapping) if row else None


async def media_paths(
    session: AsyncSession, message_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, str | None]:
    """The stored media key of each message that exists (service session: every company)."""
    result = await session.execute(
        text("select id, media_path from evolution_messages where id = any(:ids)"),
        {"ids": list(message_ids)},
    )
    return {row.id: row.media_path for row in result}
