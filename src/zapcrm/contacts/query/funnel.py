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

from sqlalchemy.ext.asyncio import AsyncSession

from zapcrm.auth.identity import Identity
from zapcrm.contacts.query import repository
from zapcrm.contacts.query.schemas import ContactOut, ContactQuery, FunnelColumn, FunnelOut, Page
from zapcrm.contacts.query.service import Criteria, page_of, resolve_criteria
from zapcrm.contacts.query.sorting import Sort
from zapcrm.contacts.repository.attributes import list_stages

# A column shows the contacts of its stage that were active last first.
CARD_ORDER = Sort.LAST_INTERACTION


@dataclass(frozen=True, slots=True)
class Board:
    """The columns with their counts, and each column's first cards, in the same order."""

    funnel: FunnelOut
    pages: list[Page[ContactOut]]


async def funnel(
    session: AsyncSession, identity: Identity, query: ContactQuery, *, now: datetime | None = None
) -> FunnelOut:
    """How many matching contacts are in each funnel stage, in the board's column order."""
    criteria = await resolve_criteria(session, identity, query, now=now)
    counts = await repository.count_by_stage(session, identity.company_id, criteria.where)
    return await _columns(session, identity, counts)


async def board(
    session: AsyncSession,
    identity: Identity,
    query: ContactQuery,
    *,
    limit: int,
    now: datetime | None = None,
) -> Board:
    """The counts and every column's first `limit` cards."""
    criteria = await resolve_criteria(session, identity, query, now=now)
    counts = await repository.count_by_stage(session, identity.company_id, criteria.where)
    columns = await _columns(session, identity, counts)
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
    now: datetime | None = None,
) -> Page[ContactOut]:
    """One column's next cards (None: the contacts in no stage)."""
    criteria = await resolve_criteria(session, identity, query, now=now)
    return await page_of(
        session, identity, _in_stage(criteria, stage), sort=CARD_ORDER, cursor=cursor, limit=limit
    )


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


async def _columns(
    session: AsyncSession, identity: Identity, counts: dict[str | None, int]
) -> FunnelOut:
    """The board's columns in order, with these counts per stage key."""
    counts = dict(counts)
    total = sum(counts.values())
    columns = [
        FunnelColumn(key=stage.key, label=stage.label, count=counts.pop(stage.key, 0))
        for stage in await list_stages(session, identity.company_id)
    ]
    unstaged = counts.pop(None, 0)
    # A stage an admin removed while contacts were in it: shown, so they can be moved on.
    columns += [
        FunnelColumn(key=key, label=key, count=count, removed=True)
        for key, count in sorted((key, count) for key, count in counts.items() if key)
    ]
    columns.append(FunnelColumn(key=None, label=None, count=unstaged))
    return FunnelOut(columns=columns, total=total)
