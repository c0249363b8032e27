"""The funnel board's reads: how many matching contacts each stage holds, in the board's column
order, and each column's cards. The search box, filter and segment are resolved once for the
whole board (a filter's context is two reads), then narrowed to each column by its stage.
One statement for the whole board (counts and first cards per stage by window functions) was
measured slower, three to five times (bench/funnel.py at 50,000 contacts): it sorts every
matching contact, where a column's page stops at its first cards. Never commits; the caller
owns the transaction."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession

from zapcrm.auth.identity import Identity
from zapcrm.contacts.attributes import AttributeDef, load_definitions
from zapcrm.contacts.query import repository
from zapcrm.contacts.query.fields import custom_field
from zapcrm.contacts.query.schemas import ContactOut, ContactQuery, FunnelColumn, FunnelOut, Page
from zapcrm.contacts.query.service import Criteria, page_from_rows, page_of, resolve_criteria
from zapcrm.contacts.query.sorting import Sort, after, decode_cursor
from zapcrm.contacts.repository.attributes import list_stages
from zapcrm.exceptions import ValidationFailed
from zapcrm.i18n import N_

# A column shows the contacts of its stage that were active last first.
CARD_ORDER = Sort.LAST_INTERACTION
# A narrowed board with at most this many matches reads its columns' first cards in one pass
# (repository.first_pages_by_stage); with more, each column's page finds its cards at once.
# Measured at 200,000 contacts: a rare name (14 matches) 87 -> 18 ms in one pass; a common
# one (33,000 matches) 33 ms column by column, 75 ms in one pass.
ONE_PASS_MATCHES = 5000


@dataclass(frozen=True, slots=True)
class Board:
    """The columns with their counts, and each column's first cards, in the same order;
    `one_pass`: the narrowing found few contacts, so a column's next cards are best read in one
    pass too (column_page's `few_matches`)."""

    funnel: FunnelOut
    pages: list[Page[ContactOut]]
    one_pass: bool = False


async def funnel(
    session: AsyncSession,
    identity: Identity,
    query: ContactQuery,
    *,
    value: AttributeDef | None = None,
    now: datetime | None = None,
) -> FunnelOut:
    """How many matching contacts are in each funnel stage, in the board's column order, and
    what they are worth when `value` is a number attribute (a deal's value, say: see
    `value_attribute`)."""
    criteria = await resolve_criteria(session, identity, query, now=now)
    return await _counted(session, identity, criteria, value)


async def board(
    session: AsyncSession,
    identity: Identity,
    query: ContactQuery,
    *,
    limit: int,
    value: AttributeDef | None = None,
    now: datetime | None = None,
) -> Board:
    """The counts (and values) and every column's first `limit` cards."""
    criteria = await resolve_criteria(session, identity, query, now=now)
    columns = await _counted(session, identity, criteria, value)
    if criteria.where and columns.total <= ONE_PASS_MATCHES:
        firsts = await repository.first_pages_by_stage(
            session, identity.company_id, criteria.where, sort=CARD_ORDER, limit=limit + 1
        )
        pages = [page_from_rows(firsts.get(c.key, []), CARD_ORDER, limit) for c in columns.columns]
        return Board(columns, pages, one_pass=True)
    pages = [
        await page_of(
            session, identity, _in_stage(criteria, column.key),
            sort=CARD_ORDER, cursor=None, limit=limit,
        )
        for column in columns.columns
    ]  # fmt: skip
    return Board(columns, pages)


async def column_page(
    session: AsyncSession,
    identity: Identity,
    query: ContactQuery,
    stage: str | None,
    *,
    cursor: str | None,
    limit: int,
    few_matches: bool = False,
    now: datetime | None = None,
) -> Page[ContactOut]:
    """One column's next cards (None: the contacts in no stage). `few_matches`: the board
    found few contacts for its narrowing (Board.one_pass); the cards are then read in one pass
    from the cursor on, as the board's first ones were. Either way they are the same cards."""
    criteria = await resolve_criteria(session, identity, query, now=now)
    column = _in_stage(criteria, stage)
    if few_matches and criteria.where:
        # Walking the interaction index from the cursor for a rare name's few contacts in this
        # stage may read most of the index (at 200,000 contacts "damaceno", 248 cards in the
        # column: 284-641 ms a page walked, 68-96 ms in one pass; bench/funnel.py).
        where = column.where
        if cursor:
            where = (*where, after(CARD_ORDER, None, decode_cursor(CARD_ORDER, cursor)))
        firsts = await repository.first_pages_by_stage(
            session, identity.company_id, where, sort=CARD_ORDER, limit=limit + 1
        )
        return page_from_rows(firsts.get(stage, []), CARD_ORDER, limit)
    return await page_of(session, identity, column, sort=CARD_ORDER, cursor=cursor, limit=limit)


async def cards_among(
    session: AsyncSession,
    identity: Identity,
    query: ContactQuery,
    contact_ids: Sequence[uuid.UUID],
    *,
    now: datetime | None = None,
) -> list[ContactOut]:
    """Those of these contacts the board's narrowing still shows (someone changed them), in
    card order; a contact deleted or merged away since is simply not among them."""
    if not contact_ids:
        return []
    criteria = await resolve_criteria(session, identity, query, now=now)
    narrowed = Criteria((*criteria.where, repository.among(contact_ids)), criteria.term)
    page = await page_of(
        session, identity, narrowed, sort=CARD_ORDER, cursor=None, limit=len(contact_ids)
    )
    return page.items


def _in_stage(criteria: Criteria, stage: str | None) -> Criteria:
    return Criteria((*criteria.where, repository.in_stage(stage)), criteria.term)


async def number_attributes(session: AsyncSession, identity: Identity) -> list[AttributeDef]:
    """The company's number attributes, in their order: what a board can sum."""
    definitions = await load_definitions(session, identity.company_id)
    return [definition for definition in definitions.values() if definition.type == "number"]


async def value_attribute(
    session: AsyncSession, identity: Identity, key: str | None
) -> AttributeDef | None:
    """The number attribute a board sums (None: none asked for); ValidationFailed when `key`
    is not one of the company's number attributes."""
    if not key:
        return None
    definition = {a.key: a for a in await number_attributes(session, identity)}.get(key)
    if definition is None:
        raise ValidationFailed(
            N_("o valor somado deve ser um campo numérico"),
            fields=[{"field": "value", "message": N_("campo numérico desconhecido")}],
        )
    return definition


async def _counted(
    session: AsyncSession, identity: Identity, criteria: Criteria, definition: AttributeDef | None
) -> FunnelOut:
    """The board's columns in order, with their counts and, asked for, their values."""
    amount = None
    if definition is not None:
        field = custom_field(definition.key, definition)
        amount = None if field is None else field.column
    counted = await repository.count_by_stage(session, identity.company_id, criteria.where, amount)
    empty: tuple[int, Decimal | None] = (0, None)
    total = sum(count for count, _ in counted.values())
    columns = [
        _column(stage.key, stage.label, counted.pop(stage.key, empty))
        for stage in await list_stages(session, identity.company_id)
    ]
    unstaged = counted.pop(None, empty)
    # A stage an admin removed while contacts were in it: shown, so they can be moved on.
    columns += [
        _column(key, key, counted[key], removed=True) for key in sorted(k for k in counted if k)
    ]
    columns.append(_column(None, None, unstaged))
    if definition is None:
        return FunnelOut(columns=columns, total=total)
    values = [column.value for column in columns if column.value is not None]
    return FunnelOut(
        columns=columns,
        total=total,
        value_key=definition.key,
        value_label=definition.label,
        value_total=sum(values, Decimal(0)) if values else None,
    )


def _column(
    key: str | None, label: str | None, counted: tuple[int, Decimal | None], removed: bool = False
) -> FunnelColumn:
    count, value = counted
    return FunnelColumn(key=key, label=label, count=count, value=value, removed=removed)
