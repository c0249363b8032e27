"""A narrowed funnel board (search, filter, segment) is read in one pass over the matches: its
columns, counts, first cards and "Mostrar mais" cursors are those of each column on its own."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import event

from tests.conftest import Factory
from tests.contacts.query.conftest import add_contacts, add_definitions, new_tenant
from zapcrm.contacts.query import funnel, repository
from zapcrm.contacts.query.schemas import ContactQuery
from zapcrm.contacts.query.service import Criteria, page_of, resolve_criteria
from zapcrm.db import Database

START = datetime(2026, 5, 1, 9, 0, tzinfo=UTC)
LIMIT = 3


@pytest.mark.parametrize(
    "query",
    [
        ContactQuery(q="silva"),
        ContactQuery(
            filter={
                "op": "and",
                "conditions": [{"field": "tags", "operator": "contains", "value": "vip"}],
            }
        ),
        ContactQuery(
            q="silva",
            filter={
                "op": "and",
                "conditions": [{"field": "tags", "operator": "contains", "value": "vip"}],
            },
        ),
    ],
    ids=["search", "filter", "both"],
)
async def test_a_narrowed_board_is_each_column_on_its_own(
    db: Database, factory: Factory, query: ContactQuery
) -> None:
    tenant = await new_tenant(factory)
    await add_definitions(db, tenant, stages=[("novo", "Novo"), ("cliente", "Cliente")])
    rows = []
    for index in range(40):
        stage = ("novo", "cliente", "antiga", None)[index % 4]  # "antiga": a stage removed since
        rows.append(
            {
                "name": f"{'Ana Silva' if index % 3 else 'Bia Souza'} {index}",
                "funnel_stage": stage,
                "tags": ["vip"] if index % 2 else [],
                # Ties and contacts never talked to: the order's tie-breaker and nulls count.
                "last_interaction_at": None
                if index % 5 == 0
                else START + timedelta(hours=index // 8),
            }
        )
    await add_contacts(db, tenant, rows)
    identity = tenant.identity()

    async with db.tenant_session(identity.claims) as session:
        board = await funnel.board(session, identity, query, limit=LIMIT)
        counted = await funnel.funnel(session, identity, query)
        alone = [
            await funnel.column_page(session, identity, query, column.key, cursor=None, limit=LIMIT)
            for column in counted.columns
        ]
        assert board.funnel == counted
        assert board.pages == alone
        assert any(page.next_cursor for page in board.pages)  # "Mostrar mais" is exercised
        for column, page in zip(board.funnel.columns, board.pages, strict=True):
            shown = [card.id for card in page.items]
            while page.next_cursor:
                page = await funnel.column_page(
                    session, identity, query, column.key, cursor=page.next_cursor, limit=LIMIT
                )
                shown += [card.id for card in page.items]
            assert len(shown) == len(set(shown)) == column.count


@pytest.mark.parametrize("limit", [1, 3, 7])
async def test_a_narrowed_columns_next_pages_in_one_pass_are_its_walked_pages(
    db: Database, factory: Factory, limit: int
) -> None:
    """ "Mostrar mais" of a board that found few contacts ranks the column's cards left in one
    pass (as the board's first cards are), not by walking the interaction index from the
    cursor: the same cards in the same order, and the same cursors, as that walk, through ties
    in the last interaction and contacts never talked to."""
    tenant = await new_tenant(factory)
    await add_definitions(db, tenant, stages=[("novo", "Novo"), ("cliente", "Cliente")])
    rows = [
        {
            "name": f"{'Ana Silva' if index % 4 else 'Bia Souza'} {index}",
            "funnel_stage": ("novo", "cliente", None)[index % 3],
            # Four contacts a moment, and every seventh never talked to.
            "last_interaction_at": None if index % 7 == 0 else START + timedelta(hours=index // 4),
        }
        for index in range(60)
    ]
    await add_contacts(db, tenant, rows)
    identity = tenant.identity()
    sent: list[str] = []

    def record(*args: object) -> None:
        sent.append(str(args[2]))

    query = ContactQuery(q="silva")
    async with db.tenant_session(identity.claims) as session:
        assert (await funnel.board(session, identity, query, limit=limit)).one_pass
        assert not (await funnel.board(session, identity, ContactQuery(), limit=limit)).one_pass
        criteria = await resolve_criteria(session, identity, query)
        for stage in ("novo", "cliente", None):
            walked = Criteria((*criteria.where, repository.in_stage(stage)), criteria.term)
            cursor, pages = None, 0
            while True:
                expected = await page_of(
                    session, identity, walked, sort=funnel.CARD_ORDER, cursor=cursor, limit=limit
                )
                event.listen(db.engine.sync_engine, "before_cursor_execute", record)
                try:
                    sent.clear()
                    page = await funnel.column_page(
                        session, identity, query, stage, cursor=cursor, limit=limit,
                        few_matches=True,
                    )  # fmt: skip
                finally:
                    event.remove(db.engine.sync_engine, "before_cursor_execute", record)
                assert page == expected, (stage, pages)
                assert any("row_number() OVER" in statement for statement in sent), sent
                pages += 1
                if page.next_cursor is None:
                    break
                cursor = page.next_cursor
            assert pages > 1
