"""Contact queries under the caller's RLS: search pages, counts, segments and their members,
bulk tags, and the plan of an export. Never commits; the endpoint owns the transaction.

Roles: every user of the company may search, count, tag in bulk and create, change or delete
segments (the RLS policies on contacts and segments allow it to all of them); exporting is for
supervisors and admins, checked at the edge.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Row, Select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from zapcrm.auth.identity import Identity
from zapcrm.contacts.attributes import AttributeDef, load_definitions, load_stage_keys
from zapcrm.contacts.query import repository
from zapcrm.contacts.query.filters import (
    FilterContext,
    compile_filter,
    names_stage,
    with_stage_keys,
)
from zapcrm.contacts.query.schemas import (
    ContactOut,
    ContactQuery,
    MembersIn,
    Page,
    SegmentIn,
    SegmentOut,
    SegmentPatch,
    SuggestionOut,
)
from zapcrm.contacts.query.search import (
    SearchTerm,
    looks_like_phone,
    parse_search,
    relevance,
    search_clause,
    typo_lookups,
)
from zapcrm.contacts.query.sorting import Sort, decode_cursor, encode_cursor
from zapcrm.contacts.query.suggestions import MIN_WORD_LENGTH, NameWord, spellings, swaps
from zapcrm.contacts.repository.attributes import list_stages
from zapcrm.exceptions import Conflict, NotFound, ValidationFailed
from zapcrm.i18n import N_
from zapcrm.kit.folding import fold
from zapcrm.kit.zones import zone_or_default
from zapcrm.models import Segment


@dataclass(frozen=True, slots=True)
class Criteria:
    """A query resolved to SQL conditions, plus the search term (for relevance)."""

    where: tuple[ColumnElement[bool], ...]
    term: SearchTerm | None


@dataclass(frozen=True, slots=True)
class ExportPlan:
    """Everything the CSV stream needs once the request's own transaction is over."""

    statement: Select[*tuple[Any, ...]]
    attributes: tuple[AttributeDef, ...]
    stage_labels: Mapping[str, str]
    timezone: ZoneInfo


class _Company:
    """The company's settings a query may need, each read at most once and only if needed."""

    def __init__(self, session: AsyncSession, company_id: uuid.UUID) -> None:
        self.session = session
        self.company_id = company_id
        self._profile: tuple[ZoneInfo, str] | None = None
        self._attributes: dict[str, AttributeDef] | None = None
        self._stages: dict[str, str] | None = None

    async def profile(self) -> tuple[ZoneInfo, str]:
        if self._profile is None:
            name, region = await repository.company_profile(self.session, self.company_id)
            self._profile = (zone_or_default(name), region)
        return self._profile

    async def attributes(self) -> dict[str, AttributeDef]:
        if self._attributes is None:
            self._attributes = await load_definitions(self.session, self.company_id)
        return self._attributes

    async def stages(self) -> dict[str, str]:
        if self._stages is None:
            stages = await list_stages(self.session, self.company_id)
            self._stages = {stage.key: stage.label for stage in stages}
        return self._stages

    async def filter_context(self, now: datetime, *filters: object) -> FilterContext:
        """The context `filters` compile in; the stages are read only if one of them needs
        them."""
        timezone, region = await self.profile()
        stages = await self.stages() if any(names_stage(raw) for raw in filters) else {}
        return FilterContext(await self.attributes(), now, timezone, region, stages)


async def filter_context(
    session: AsyncSession, company_id: uuid.UUID, now: datetime | None, *filters: object
) -> FilterContext:
    """What `filters` compile against: the company's attributes, time zone and phone region,
    and its funnel stages when a filter names one."""
    return await _Company(session, company_id).filter_context(now or datetime.now(UTC), *filters)


async def resolve_criteria(
    session: AsyncSession,
    identity: Identity,
    query: ContactQuery,
    *,
    now: datetime | None = None,
    company: _Company | None = None,
) -> Criteria:
    """Turn q, filter and segment into SQL conditions (ValidationFailed / NotFound otherwise)."""
    now = now or datetime.now(UTC)
    company = company or _Company(session, identity.company_id)
    where: list[ColumnElement[bool]] = []
    term = None
    if query.q and query.q.strip():
        # Only a phone needs the company's region; a name search costs no extra query.
        region = (await company.profile())[1] if looks_like_phone(query.q) else "BR"
        term = parse_search(query.q, region)
        if term is not None:
            lookups = typo_lookups(term)
            spellings = (
                await repository.words_within_typo(session, identity.company_id, lookups)
                if lookups
                else None
            )
            where.append(search_clause(term, spellings))
    if query.filter:
        expression = compile_filter(query.filter, await company.filter_context(now, query.filter))
        if expression is not None:
            where.append(expression)
    if query.segment_id is not None:
        segment = await _segment(session, identity, query.segment_id)
        if segment.kind == "static":
            where.append(repository.in_segment(identity.company_id, segment.id))
        else:
            context = await company.filter_context(now, segment.filter)
            expression = compile_filter(segment.filter, context, path="segment.filter")
            if expression is not None:
                where.append(expression)
    return Criteria(tuple(where), term)


async def search_contacts(
    session: AsyncSession,
    identity: Identity,
    query: ContactQuery,
    *,
    sort: Sort | None,
    cursor: str | None,
    limit: int,
    now: datetime | None = None,
) -> Page[ContactOut]:
    """One keyset page of matching contacts, in the chosen order."""
    criteria = await resolve_criteria(session, identity, query, now=now)
    return await page_of(session, identity, criteria, sort=sort, cursor=cursor, limit=limit)


async def page_of(
    session: AsyncSession,
    identity: Identity,
    criteria: Criteria,
    *,
    sort: Sort | None,
    cursor: str | None,
    limit: int,
) -> Page[ContactOut]:
    """One keyset page of the contacts resolved criteria match, in the chosen order."""
    score = relevance(criteria.term) if criteria.term is not None else None
    effective = sort or Sort.RECENT
    if effective is Sort.RELEVANCE and score is None:
        effective = Sort.RECENT  # nothing to rank by without a name search
    after_key = decode_cursor(effective, cursor) if cursor else None
    rows = await repository.page_contacts(
        session,
        identity.company_id,
        criteria.where,
        sort=effective,
        score=score if effective is Sort.RELEVANCE else None,
        after_key=after_key,
        limit=limit + 1,
    )
    return page_from_rows(rows, effective, limit)


def page_from_rows(
    rows: Sequence[Row[*tuple[Any, ...]]], sort: Sort, limit: int
) -> Page[ContactOut]:
    """A page of up to `limit` contacts from up to `limit` + 1 rows in `sort` order (each
    PAGE_COLUMNS then its sort value); a row more means a next page, from the last shown."""
    width = len(repository.PAGE_COLUMNS)
    items = [
        ContactOut.model_validate(dict(zip(repository.PAGE_COLUMNS, row[:width], strict=True)))
        for row in rows[:limit]
    ]
    next_cursor = None
    if len(rows) > limit:
        last = rows[limit - 1]
        next_cursor = encode_cursor(sort, last[width], last[0])
    return Page[ContactOut](items=items, next_cursor=next_cursor)


async def count_contacts(
    session: AsyncSession, identity: Identity, query: ContactQuery, *, now: datetime | None = None
) -> int:
    """How many contacts match."""
    return (await count_up_to(session, identity, query, cap=None, now=now)).count


@dataclass(frozen=True, slots=True)
class CappedCount:
    """How many contacts match, counted up to a cap: `more` means past it, and `count` is then
    the cap, not the number of matches."""

    count: int
    more: bool


async def count_up_to(
    session: AsyncSession,
    identity: Identity,
    query: ContactQuery,
    *,
    cap: int | None,
    now: datetime | None = None,
) -> CappedCount:
    """How many contacts match, counting no further than `cap` (None: every one). A common
    name's every match takes seconds to count at a million contacts, its first `cap` far less."""
    criteria = await resolve_criteria(session, identity, query, now=now)
    # Without criteria the kept tallies give the exact number at once (repository.count_contacts).
    up_to = cap if criteria.where else None
    count = await repository.count_contacts(
        session, identity.company_id, criteria.where, up_to=up_to
    )
    if up_to is not None and count > up_to:
        return CappedCount(count=up_to, more=True)
    return CappedCount(count=count, more=False)


SUGGESTIONS = 3
SUGGESTION_COUNT_LIMIT = 1000
_CANDIDATE_WORDS = 50  # words of names per typed word, the closest by trigrams


async def suggest(
    session: AsyncSession,
    identity: Identity,
    query: ContactQuery,
    *,
    limit: int = SUGGESTIONS,
    now: datetime | None = None,
) -> list[SuggestionOut]:
    """Other spellings of the search box's name ("slivia" -> "Sílvia"), each with how many
    contacts the query (filter and segment included) finds with it; those finding nobody are
    left out. Meant for a name search that found nobody (suggestions.py)."""
    if not query.q or looks_like_phone(query.q):
        return []
    term = parse_search(query.q)
    if term is None or term.kind != "name":
        return []
    seen: dict[str, list[NameWord]] = {}
    for word in dict.fromkeys(term.words):
        if len(fold(word)) >= MIN_WORD_LENGTH:
            rows = await repository.name_words_like(
                session, identity.company_id, word, swaps(word), _CANDIDATE_WORDS
            )
            seen[word] = [NameWord(folded, written, uses) for folded, written, uses in rows]
    found = []
    for text in spellings(term.words, seen, limit):
        respelt = query.model_copy(update={"q": text})
        criteria = await resolve_criteria(session, identity, respelt, now=now)
        # Counting every Maria or Silva of a big company takes long and says little more.
        count = await repository.count_contacts(
            session, identity.company_id, criteria.where, up_to=SUGGESTION_COUNT_LIMIT
        )
        if count:
            more = count > SUGGESTION_COUNT_LIMIT
            found.append(SuggestionOut(q=text, count=min(count, SUGGESTION_COUNT_LIMIT), more=more))
    return found


async def bulk_stage(
    session: AsyncSession,
    identity: Identity,
    query: ContactQuery,
    *,
    stage: str | None,
    now: datetime | None = None,
) -> int:
    """Put every matching contact in one of the company's funnel stages (None: in none);
    returns how many changed. Like bulk tagging, it applies no list rule."""
    _some_criteria(query)
    if stage is not None and stage not in await load_stage_keys(session, identity.company_id):
        raise ValidationFailed(
            N_("etapa do funil desconhecida"),
            fields=[{"field": "stage", "message": N_("escolha uma das etapas do funil")}],
        )
    criteria = await resolve_criteria(session, identity, query, now=now)
    return await repository.bulk_stage(
        session, identity.company_id, criteria.where, stage=stage, actor_id=identity.user_id
    )


def _some_criteria(query: ContactQuery) -> None:
    if query.is_empty():
        # Changing the whole base by accident is easy to do and tedious to undo: say so
        # explicitly (an empty filter group {"op": "and", "conditions": []} matches everyone).
        raise ValidationFailed(
            N_("informe q, filter ou segment_id para escolher os contatos"),
            fields=[{"field": "filter", "message": N_("nenhum critério informado")}],
        )


async def bulk_tag(
    session: AsyncSession,
    identity: Identity,
    query: ContactQuery,
    *,
    tag: str,
    add: bool,
    now: datetime | None = None,
) -> int:
    """Add or remove a tag on every matching contact; returns how many changed."""
    _some_criteria(query)
    criteria = await resolve_criteria(session, identity, query, now=now)
    return await repository.bulk_tag(
        session, identity.company_id, criteria.where, tag=tag, add=add, actor_id=identity.user_id
    )


async def list_segments(session: AsyncSession, identity: Identity) -> list[SegmentOut]:
    """The company's segments by name."""
    segments = await repository.list_segments(session, identity.company_id)
    return [SegmentOut.model_validate(segment) for segment in segments]


async def get_segment(
    session: AsyncSession, identity: Identity, segment_id: uuid.UUID
) -> SegmentOut:
    """One segment (NotFound for another company's)."""
    return SegmentOut.model_validate(await _segment(session, identity, segment_id))


async def create_segment(
    session: AsyncSession, identity: Identity, body: SegmentIn, *, now: datetime | None = None
) -> SegmentOut:
    """Save a segment; a dynamic one's filter is validated now, not when it is first used."""
    filter_json = body.filter or {}
    if body.kind == "static":
        _no_filter_on_static(filter_json)
    else:
        filter_json = await saved_filter(session, identity.company_id, filter_json, now)
    segment = await repository.insert_segment(
        session,
        identity.company_id,
        name=body.name,
        kind=body.kind,
        filter_json=filter_json,
        created_by=identity.user_id,
    )
    if segment is None:
        raise Conflict(N_("já existe um segmento com este nome"))
    return SegmentOut.model_validate(segment)


async def update_segment(
    session: AsyncSession,
    identity: Identity,
    segment_id: uuid.UUID,
    patch: SegmentPatch,
    *,
    now: datetime | None = None,
) -> SegmentOut:
    """Rename a segment and/or replace a dynamic segment's filter."""
    segment = await _segment(session, identity, segment_id)
    values: dict[str, Any] = {}
    if patch.name is not None:
        values["name"] = patch.name
    if "filter" in patch.model_fields_set:
        filter_json = patch.filter or {}
        if segment.kind == "static":
            _no_filter_on_static(filter_json)
        else:
            filter_json = await saved_filter(session, identity.company_id, filter_json, now)
        values["filter"] = filter_json
    if not values:
        return SegmentOut.model_validate(segment)
    try:
        # A savepoint, so a name collision leaves the request's transaction usable.
        async with session.begin_nested():
            updated = await repository.update_segment(
                session, identity.company_id, segment_id, values
            )
    except IntegrityError:
        raise Conflict(N_("já existe um segmento com este nome")) from None
    if updated is None:
        raise NotFound(N_("segmento não encontrado"))
    return SegmentOut.model_validate(updated)


async def delete_segment(session: AsyncSession, identity: Identity, segment_id: uuid.UUID) -> None:
    """Remove a segment (a static list's memberships go with it; contacts stay)."""
    if not await repository.delete_segment(session, identity.company_id, segment_id):
        raise NotFound(N_("segmento não encontrado"))


async def add_members(
    session: AsyncSession,
    identity: Identity,
    segment_id: uuid.UUID,
    body: MembersIn,
    *,
    now: datetime | None = None,
) -> int:
    """Put contacts on a static list (by id or by criteria); returns how many joined."""
    segment = await _static_segment(session, identity, segment_id)
    where = await _member_criteria(session, identity, body, now)
    return await repository.add_members(session, identity.company_id, segment.id, where)


async def remove_members(
    session: AsyncSession,
    identity: Identity,
    segment_id: uuid.UUID,
    body: MembersIn,
    *,
    now: datetime | None = None,
) -> int:
    """Take contacts off a static list (by id or by criteria); returns how many left."""
    segment = await _static_segment(session, identity, segment_id)
    where = await _member_criteria(session, identity, body, now)
    return await repository.remove_members(session, identity.company_id, segment.id, where)


async def plan_export(
    session: AsyncSession, identity: Identity, query: ContactQuery, *, now: datetime | None = None
) -> ExportPlan:
    """Validate an export's criteria and gather its columns, before any byte is streamed."""
    company = _Company(session, identity.company_id)
    criteria = await resolve_criteria(session, identity, query, now=now, company=company)
    timezone, _ = await company.profile()
    return ExportPlan(
        statement=repository.export_statement(identity.company_id, criteria.where),
        attributes=tuple((await company.attributes()).values()),
        stage_labels=await company.stages(),
        timezone=timezone,
    )


async def _segment(session: AsyncSession, identity: Identity, segment_id: uuid.UUID) -> Segment:
    segment = await repository.get_segment(session, identity.company_id, segment_id)
    if segment is None:
        raise NotFound(N_("segmento não encontrado"))
    return segment


async def _static_segment(
    session: AsyncSession, identity: Identity, segment_id: uuid.UUID
) -> Segment:
    segment = await _segment(session, identity, segment_id)
    if segment.kind != "static":
        raise Conflict(N_("segmento dinâmico: seus contatos vêm do filtro, não de uma lista"))
    return segment


async def _member_criteria(
    session: AsyncSession, identity: Identity, body: MembersIn, now: datetime | None
) -> Sequence[ColumnElement[bool]]:
    by_criteria = not body.is_empty()
    if body.contact_ids is not None and by_criteria:
        raise ValidationFailed(
            N_("use contact_ids ou critérios (q, filter, segment_id), não os dois"),
            fields=[{"field": "contact_ids", "message": N_("não combine com critérios")}],
        )
    if body.contact_ids is not None:
        return [repository.among(body.contact_ids)]
    if not by_criteria:
        raise ValidationFailed(
            N_("informe contact_ids ou critérios (q, filter, segment_id)"),
            fields=[{"field": "contact_ids", "message": N_("nenhum contato escolhido")}],
        )
    criteria = await resolve_criteria(session, identity, body, now=now)
    return criteria.where


async def saved_filter(
    session: AsyncSession,
    company_id: uuid.UUID,
    filter_json: dict[str, Any],
    now: datetime | None = None,
) -> dict[str, Any]:
    """A filter as a segment or a list rule keeps it: checked now (ValidationFailed), with
    stage names written as their keys."""
    context = await filter_context(session, company_id, now, filter_json)
    compile_filter(filter_json, context)
    saved: dict[str, Any] = with_stage_keys(filter_json, context.stages)
    return saved


def _no_filter_on_static(filter_json: dict[str, Any]) -> None:
    if filter_json:
        raise ValidationFailed(
            N_("uma lista estática não tem filtro: adicione contatos em /members"),
            fields=[{"field": "filter", "message": N_("não se aplica a listas estáticas")}],
        )
