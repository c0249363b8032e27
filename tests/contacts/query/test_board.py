"""A narrowed funnel board (search, filter, segment) is read in one pass over the matches: its
columns, counts, first cards and "Mostrar mais" cursors are those of each column on its own."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tests.conftest import Factory
from tests.contacts.query.conftest import add_contacts, add_definitions, new_tenant
from zapcrm.contacts.query import funnel
from zapcrm.contacts.query.schemas import ContactQuery
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
