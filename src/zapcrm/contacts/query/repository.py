"""SQL of contact queries: pages, counts, segments and their members, bulk tags, export rows.

Every statement names the company explicitly (defence in depth on top of RLS) and leaves out
contacts folded into another by a merge. Reads select from `source.contacts()`; writes go to
the table under RLS, choosing their rows by id through a read (see source.py).
"""

from __future__ import annotations

import functools
import uuid
from collections.abc import AsyncIterator, Sequence
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    Select,
    Text,
    and_,
    any_,
    bindparam,
    delete,
    exists,
    func,
    insert,
    literal,
    literal_column,
    null,
    select,
    text,
    union_all,
    update,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, UUID, aggregate_order_by
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql import visitors
from sqlalchemy.sql.elements import ColumnClause, ColumnElement
from sqlalchemy.sql.selectable import CTE, FromClause, NamedFromClause

from zapcrm.contacts.query import source
from zapcrm.contacts.query.fields import like_escape
from zapcrm.contacts.query.sorting import Sort, SortKey, after, order_by, sort_value
from zapcrm.db import plan_for_values, unprepared, without_jit
from zapcrm.models import Company, ContactEvent, ContactStageTally, Segment, SegmentMember

# What a page shows of each contact: the columns of ContactOut.
PAGE_COLUMNS = (
    "id",
    "name",
    "phone_e164",
    "email",
    "tags",
    "source",
    "funnel_stage",
    "custom_fields",
    "notes",
    "opted_out",
    "last_interaction_at",
    "created_at",
    "updated_at",
    "stage_since",
)
EXPORT_COLUMNS = (
    "name",
    "phone_e164",
    "email",
    "tags",
    "funnel_stage",
    "source",
    "opted_out",
    "created_at",
    "last_interaction_at",
    "custom_fields",
)


def visible(company_id: uuid.UUID) -> ColumnElement[bool]:
    """Contacts of the company that are still people of their own (not merged away)."""
    read = source.contacts().c
    return and_(read.company_id == company_id, read.merged_into_id.is_(None))


def in_segment(company_id: uuid.UUID, segment_id: uuid.UUID) -> ColumnElement[bool]:
    """Contacts on a static list."""
    return exists().where(
        SegmentMember.segment_id == segment_id,
        SegmentMember.company_id == company_id,
        SegmentMember.contact_id == source.contacts().c.id,
    )


def matching_ids(
    company_id: uuid.UUID, where: Sequence[ColumnElement[bool]]
) -> Select[*tuple[Any, ...]]:
    """Ids of the matching contacts, for writes that take their rows from a read."""
    read = source.contacts()
    return select(read.c.id).where(visible(company_id), *where)


async def words_within_typo(
    session: AsyncSession, company_id: uuid.UUID, words: Sequence[str]
) -> dict[str, list[str]]:
    """For each folded word, the words of the company's contact names within a typo of it
    (pg_trgm `<<%`, the session's threshold; the word itself when a name has it): a lookup of
    the trigram index of migration 0057's few thousand words, for search.py `search_clause`."""
    vocabulary = source.name_words()
    lookups = [
        select(literal(word, Text), vocabulary.c.word)
        .where(
            vocabulary.c.company_id == company_id,
            bindparam(None, word, type_=Text).op("<<%", is_comparison=True)(vocabulary.c.word),
        )
        .distinct()
        for word in words
    ]
    found: dict[str, list[str]] = {word: [] for word in words}
    if not lookups:
        return found
    async with unprepared(session):  # how many words match depends on the word
        rows = (await session.execute(union_all(*lookups))).all()
    for typed, spelling in rows:
        found[typed].append(spelling)
    return found


async def company_profile(session: AsyncSession, company_id: uuid.UUID) -> tuple[str, str]:
    """The company's time zone and default phone region."""
    row = (
        await session.execute(
            select(Company.timezone, Company.default_region).where(Company.id == company_id)
        )
    ).one()
    return row[0], row[1]


async def page_contacts(
    session: AsyncSession,
    company_id: uuid.UUID,
    where: Sequence[ColumnElement[bool]],
    *,
    sort: Sort,
    score: ColumnElement[float] | None,
    after_key: SortKey | None,
    limit: int,
) -> Sequence[Row[*tuple[Any, ...]]]:
    """Up to `limit` contacts in order after `after_key`: PAGE_COLUMNS, then the sort value."""
    read = source.contacts()
    if sort is Sort.RECENT and where and _covered(where):
        statement = _recent_page_by_ids(company_id, where, after_key, limit)
    else:
        statement = (
            select(*(read.c[name] for name in PAGE_COLUMNS), sort_value(sort, score))
            .where(visible(company_id), *where)
            .order_by(*order_by(sort, score))
            .limit(limit)
        )
        if after_key is not None:
            statement = statement.where(after(sort, score, after_key))
    if not where:
        return (await session.execute(statement)).all()
    # A search or a filter: planned for the values typed (db.py), in the page's own round trip.
    async with unprepared(session):
        return (await session.execute(statement)).all()


# Migration 0055's index on the RECENT order: its key and the columns it includes, every column
# a name search's conditions read.
_COVERED = frozenset({"company_id", "created_at", "id", "search_name", "email", "merged_into_id"})


def _covered(where: Sequence[ColumnElement[bool]]) -> bool:
    """Whether the conditions read no column but the RECENT order index's (migration 0055)."""
    read = source.contacts()
    for clause in where:
        for element in visitors.iterate(clause):
            if not isinstance(element, ColumnClause) or element.is_literal:
                continue
            if element.table is not read or element.name not in _COVERED:
                return False
    return True


@functools.lru_cache(maxsize=4)
def _cards(read: FromClause) -> NamedFromClause:
    # One alias per relation read: building an alias's columns took ~0.5 ms a page.
    return read.alias("cards")


def _recent_page_by_ids(
    company_id: uuid.UUID,
    where: Sequence[ColumnElement[bool]],
    after_key: SortKey | None,
    limit: int,
) -> Select[*tuple[Any, ...]]:
    """page_contacts in the RECENT order when the index holds every column `where` reads: the
    page's ids first, then only their rows. The planner can then walk the index alone (an
    index-only scan) testing each contact until the page is full, where reading the page's
    columns made it fetch every contact tested from the table, a random page each: ~12,000 for
    "damaceno" at 1,000,000 contacts (bench/search.py, migration 0055). Same rows, same order."""
    read = source.contacts()
    ids = (
        select(read.c.id, read.c.created_at)
        .where(visible(company_id), *where)
        .order_by(*order_by(Sort.RECENT, None))
        .limit(limit)
    )
    if after_key is not None:
        ids = ids.where(after(Sort.RECENT, None, after_key))
    page = ids.subquery("page")
    cards = _cards(read)
    return (
        select(*(cards.c[name] for name in PAGE_COLUMNS), page.c.created_at)
        .join(page, page.c.id == cards.c.id)
        .where(cards.c.company_id == company_id)
        .order_by(page.c.created_at.desc(), page.c.id.desc())
    )


async def first_pages_by_stage(
    session: AsyncSession,
    company_id: uuid.UUID,
    where: Sequence[ColumnElement[bool]],
    *,
    sort: Sort,
    limit: int,
) -> dict[str | None, list[Row[*tuple[Any, ...]]]]:
    """Each funnel stage's first `limit` matching contacts in `sort` order (rows as
    page_contacts gives them), in one pass over the matches: ranked by their id, stage and sort
    value (carried to the rows for their cursors), then only the winners' cards read. Meant
    for few matches (funnel.board): each column's own page may walk the whole sort index
    looking for a rare name, where this sorts a few rows; with many matches that walk stops at
    once and this would sort them all."""
    read = source.contacts()
    stage = read.c.funnel_stage
    ranked = (
        select(
            read.c.id,
            sort_value(sort, None).label("sort_value"),
            func.row_number()
            .over(partition_by=stage, order_by=order_by(sort, None))
            .label("place"),
        )
        .where(visible(company_id), *where)
        .subquery()
    )
    cards = source.contacts().alias("cards")
    statement = (
        select(*(cards.c[name] for name in PAGE_COLUMNS), ranked.c.sort_value)
        .join(ranked, ranked.c.id == cards.c.id)
        .where(ranked.c.place <= limit, cards.c.company_id == company_id)
        .order_by(ranked.c.place)
    )
    await _plan_for(session, where)
    pages: dict[str | None, list[Row[*tuple[Any, ...]]]] = {}
    for row in (await session.execute(statement)).all():
        pages.setdefault(row.funnel_stage, []).append(row)
    return pages


async def count_contacts(
    session: AsyncSession,
    company_id: uuid.UUID,
    where: Sequence[ColumnElement[bool]],
    *,
    up_to: int | None = None,
) -> int:
    """How many contacts match; with `up_to`, counting stops there (up_to + 1 means more)."""
    if not where and up_to is None:
        # Every contact of the company: the kept counts, not a scan (stage_tallies).
        return sum((await stage_tallies(session, company_id)).values())
    matching = select(literal(1)).select_from(source.contacts()).where(visible(company_id), *where)
    if up_to is not None:
        matching = matching.limit(up_to + 1)
    statement = select(func.count()).select_from(matching.subquery())
    await _plan_for(session, where)
    return int((await session.execute(statement)).scalar_one())


def among(contact_ids: Sequence[uuid.UUID]) -> ColumnElement[bool]:
    """Only these contacts (one array parameter, however many)."""
    ids = bindparam(None, list(dict.fromkeys(contact_ids)), type_=ARRAY(UUID()))
    return source.contacts().c.id == any_(ids)


def in_stage(stage: str | None) -> ColumnElement[bool]:
    """Contacts in one funnel stage (None: in none)."""
    column = source.contacts().c.funnel_stage
    return column.is_(None) if stage is None else column == stage


async def count_by_stage(
    session: AsyncSession,
    company_id: uuid.UUID,
    where: Sequence[ColumnElement[bool]],
    amount: ColumnElement[Any] | None = None,
) -> dict[str | None, tuple[int, Decimal | None]]:
    """How many contacts match per funnel stage key (None: in no stage), and the sum of
    `amount` over them when given (in the same pass over the rows)."""
    if not where and amount is None:
        # The whole funnel, as the board opens: the kept counts, not a scan (stage_tallies).
        return {
            key: (count, None) for key, count in (await stage_tallies(session, company_id)).items()
        }
    stage = source.contacts().c.funnel_stage
    total = func.sum(amount) if amount is not None else null()
    statement = (
        select(stage, func.count(), total)
        .select_from(source.contacts())
        .where(visible(company_id), *where)
        .group_by(stage)
    )
    await _plan_for(session, where)
    return {
        key: (int(count), value) for key, count, value in (await session.execute(statement)).all()
    }


async def stage_tallies(session: AsyncSession, company_id: uuid.UUID) -> dict[str | None, int]:
    """How many contacts (not merged away) each funnel stage holds, None for no stage: what
    count_by_stage finds without conditions, read from a few rows instead of every contact.

    Migration 0052: the contacts table's statement triggers append signed counts per stage,
    which the worker folds now and then (contacts/jobs.py); a stage's count is their sum."""
    kept = func.sum(ContactStageTally.contacts)
    statement = (
        select(ContactStageTally.funnel_stage, kept)
        .where(ContactStageTally.company_id == company_id)
        .group_by(ContactStageTally.funnel_stage)
        .having(kept != 0)
    )
    return {key: int(count) for key, count in (await session.execute(statement)).all()}


def export_statement(
    company_id: uuid.UUID, where: Sequence[ColumnElement[bool]]
) -> Select[*tuple[Any, ...]]:
    """The export's rows: only the columns the file shows, in the list's default order."""
    read = source.contacts()
    return (
        select(*(read.c[name] for name in EXPORT_COLUMNS))
        .where(visible(company_id), *where)
        .order_by(*order_by(Sort.RECENT, None))
    )


async def stream_rows(
    session: AsyncSession, statement: Select[*tuple[Any, ...]], batch: int
) -> AsyncIterator[Sequence[Row[*tuple[Any, ...]]]]:
    """Rows of a statement in batches, from a server-side cursor (memory stays flat)."""
    result = await session.stream(statement.execution_options(yield_per=batch))
    async for partition in result.partitions(batch):
        yield partition


async def list_segments(session: AsyncSession, company_id: uuid.UUID) -> Sequence[Segment]:
    """The company's segments by name."""
    statement = (
        select(Segment).where(Segment.company_id == company_id).order_by(Segment.name, Segment.id)
    )
    return (await session.scalars(statement)).all()


async def get_segment(
    session: AsyncSession, company_id: uuid.UUID, segment_id: uuid.UUID
) -> Segment | None:
    """One segment of the company, or None."""
    statement = select(Segment).where(Segment.company_id == company_id, Segment.id == segment_id)
    return (await session.scalars(statement)).first()


async def insert_segment(
    session: AsyncSession,
    company_id: uuid.UUID,
    *,
    name: str,
    kind: str,
    filter_json: dict[str, Any],
    created_by: uuid.UUID,
) -> Segment | None:
    """Create a segment; None when the company already has one with this name."""
    statement = (
        pg_insert(Segment)
        .values(
            company_id=company_id,
            name=name,
            kind=kind,
            filter=filter_json,
            created_by=created_by,
        )
        .on_conflict_do_nothing(constraint="segments_company_name_key")
        .returning(Segment)
    )
    return (await session.scalars(statement)).first()


async def update_segment(
    session: AsyncSession, company_id: uuid.UUID, segment_id: uuid.UUID, values: dict[str, Any]
) -> Segment | None:
    """Change a segment's name and/or filter; None when it does not exist."""
    statement = (
        update(Segment)
        .where(Segment.company_id == company_id, Segment.id == segment_id)
        .values(**values)
        .returning(Segment)
    )
    return (await session.scalars(statement)).first()


async def delete_segment(
    session: AsyncSession, company_id: uuid.UUID, segment_id: uuid.UUID
) -> bool:
    """Remove a segment (its members go with it); False when it did not exist."""
    statement = (
        delete(Segment)
        .where(Segment.company_id == company_id, Segment.id == segment_id)
        .returning(Segment.id)
    )
    return (await session.execute(statement)).first() is not None


async def add_members(
    session: AsyncSession,
    company_id: uuid.UUID,
    segment_id: uuid.UUID,
    where: Sequence[ColumnElement[bool]],
) -> int:
    """Put every matching contact on a static list in one statement; returns how many joined."""
    read = source.contacts()
    chosen = select(literal(segment_id), read.c.id, read.c.company_id).where(
        visible(company_id), *where
    )
    statement = (
        pg_insert(SegmentMember)
        .from_select(["segment_id", "contact_id", "company_id"], chosen)
        .on_conflict_do_nothing(index_elements=["segment_id", "contact_id"])
        .returning(SegmentMember.contact_id)
    )
    return await _count_returned(session, statement.cte("added"))


async def remove_members(
    session: AsyncSession,
    company_id: uuid.UUID,
    segment_id: uuid.UUID,
    where: Sequence[ColumnElement[bool]],
) -> int:
    """Take every matching contact off a static list; returns how many left."""
    statement = (
        delete(SegmentMember)
        .where(
            SegmentMember.company_id == company_id,
            SegmentMember.segment_id == segment_id,
            SegmentMember.contact_id.in_(matching_ids(company_id, where)),
        )
        .returning(SegmentMember.contact_id)
    )
    return await _count_returned(session, statement.cte("removed"))


async def bulk_stage(
    session: AsyncSession,
    company_id: uuid.UUID,
    where: Sequence[ColumnElement[bool]],
    *,
    stage: str | None,
    actor_id: uuid.UUID,
) -> int:
    """Put every matching contact in a funnel stage (None: in none) in one UPDATE; returns how
    many changed. Each change is written to the contact's timeline in the same statement, as
    an edit of the field would be (from what, to what)."""
    contacts = source.table()
    written = contacts.c
    bound = bindparam(None, stage, type_=Text)
    # The rows and their current stage come from a read (indexes answer it); the UPDATE finds
    # them by primary key and returns the stage they had.
    before = (
        select(written.id, written.funnel_stage)
        .where(
            written.company_id == company_id,
            written.id.in_(matching_ids(company_id, where)),
            written.funnel_stage.is_distinct_from(bound),
        )
        .cte("before")
    )
    changed = (
        update(contacts)
        .where(written.company_id == company_id, written.id == before.c.id)
        .values(funnel_stage=bound)
        .returning(written.id, written.company_id, before.c.funnel_stage.label("old"))
        .cte("changed")
    )
    details = func.jsonb_build_object(
        "bulk",
        True,
        "changes",
        func.jsonb_build_object(
            "funnel_stage", func.jsonb_build_object("from", changed.c.old, "to", bound)
        ),
    )
    return await _count_returned(session, _logged(changed, "contact.updated", actor_id, details))


async def bulk_tag(
    session: AsyncSession,
    company_id: uuid.UUID,
    where: Sequence[ColumnElement[bool]],
    *,
    tag: str,
    add: bool,
    actor_id: uuid.UUID,
) -> int:
    """Add or remove a tag on every matching contact in one UPDATE; returns how many changed.

    Each change is also written to the contact's timeline, in the same statement.
    """
    contacts = source.table()
    written = contacts.c
    bound = bindparam(None, tag, type_=Text)
    # The rows come from a read (indexes answer it), the UPDATE finds them by primary key.
    chosen = [
        written.company_id == company_id,
        written.id.in_(matching_ids(company_id, where)),
    ]
    # Tags compare case-insensitively (one spelling per contact, as the contact form keeps
    # them): adding "vip" leaves a contact with "VIP" alone, removing "vip" takes "VIP" off.
    has_it = written.folded_tags.contains(
        source.folded_tags(bindparam(None, [tag], type_=ARRAY(Text)))
    )
    if add:
        changed = (
            update(contacts)
            .where(*chosen, ~has_it)
            .values(tags=func.array_append(written.tags, bound))
        )
    else:
        spellings = (
            func.unnest(written.tags)
            .table_valued("value", with_ordinality="position")
            .render_derived(name="tag")
        )
        kept = (
            select(func.array_agg(aggregate_order_by(spellings.c.value, spellings.c.position)))
            .where(func.lower(spellings.c.value) != func.lower(bound))
            .scalar_subquery()
        )
        changed = (
            update(contacts)
            .where(*chosen, has_it)
            .values(tags=func.coalesce(kept, literal([], ARRAY(Text))))
        )
    changed_cte = changed.returning(written.id, written.company_id).cte("changed")
    details = {"tag": tag, "action": "added" if add else "removed", "bulk": True}
    logged = _logged(changed_cte, "tags_changed", actor_id, bindparam(None, details, type_=JSONB))
    return await _count_returned(session, logged)


def _logged(changed: CTE, kind: str, actor_id: uuid.UUID, details: ColumnElement[Any]) -> CTE:
    """A timeline entry for each contact a bulk UPDATE changed (`changed` returns their id and
    company), written in the same statement."""
    events = insert(ContactEvent).from_select(
        ["company_id", "contact_id", "kind", "actor_id", "details"],
        select(changed.c.company_id, changed.c.id, literal(kind), literal(actor_id), details),
    )
    return events.returning(ContactEvent.contact_id).cte("logged")


# Punctuation around a word of a name ("(cliente)", "Silva,") is not part of it.
_WORD_EDGES = ".,;:!?\"'()[]{}<>*-"
_LOOSE_WORD_MATCH = text("select set_config('pg_trgm.word_similarity_threshold', '0.3', true)")
_NAME_SAMPLE = 2000  # contacts read per way of matching: a common spelling is in any sample


async def name_words_like(
    session: AsyncSession, company_id: uuid.UUID, word: str, swaps: Sequence[str], limit: int
) -> list[tuple[str, str, int]]:
    """Words of contact names that look like `word`, the closest by trigrams first: (folded, as
    most often written, how many of the contacts read). For suggestions.py: up to
    _NAME_SAMPLE contacts whose name has an extent at word similarity 0.3 or more, and as many
    holding one of `swaps` (the word with two letters swapped, which trigrams barely see), both
    through the trigram index, split into words. A loose match finds many people at 1,000,000
    contacts (every Gabriel for "gabirel"): reading them all took seconds. The similarity
    threshold and JIT off are set for the rest of the transaction."""
    read = source.contacts()
    typed = source.search_text(bindparam(None, word, type_=Text))
    ways = [typed.op("<%", is_comparison=True)(read.c.search_name)]
    if swaps:
        patterns = [f"%{like_escape(swap)}%" for swap in swaps]
        ways.append(read.c.search_name.like(any_(bindparam(None, patterns, type_=ARRAY(Text)))))
    names = union_all(
        *(select(read.c.name).where(visible(company_id), way).limit(_NAME_SAMPLE) for way in ways)
    ).subquery()
    split = func.regexp_split_to_table(names.c.name, literal_column(r"'\s+'"), type_=Text)
    edges = bindparam(None, _WORD_EDGES, type_=Text)
    words = select(func.btrim(split, edges, type_=Text).label("word")).subquery()
    # Counted as written first: folding (unaccent) then runs once per distinct word, not once
    # per word of every name read.
    written = (
        select(words.c.word, func.count().label("uses"))
        .where(func.length(words.c.word) >= 3)
        .group_by(words.c.word)
        .subquery()
    )
    folded = source.search_text(written.c.word)
    most_written = func.array_agg(aggregate_order_by(written.c.word, written.c.uses.desc()))
    uses = func.sum(written.c.uses)
    statement = (
        select(folded, most_written[1], uses)
        .group_by(folded)
        .order_by(func.similarity(folded, typed).desc(), uses.desc())
        .limit(limit)
    )
    await session.execute(_LOOSE_WORD_MATCH)
    await without_jit(session)  # the word split's estimate (1,000 rows a name) invites it
    rows = (await session.execute(statement)).all()
    return [(folded, written, int(uses)) for folded, written, uses in rows]


async def _plan_for(session: AsyncSession, where: Sequence[ColumnElement[bool]]) -> None:
    # A search or a filter: how many rows match depends on the values typed (db.py).
    if where:
        await plan_for_values(session)


async def _count_returned(session: AsyncSession, changed: CTE) -> int:
    # Counted in SQL: a bulk change may touch a million rows, their ids need not travel.
    return int((await session.execute(select(func.count()).select_from(changed))).scalar_one())
