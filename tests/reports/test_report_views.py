"""Migration 0050's report views: a supervisor's company, whole, for supervisors and admins only
(reports are theirs); nothing for an operator, nothing of another company."""

from __future__ import annotations

import pytest
from sqlalchemy import select, text

from tests.conftest import Factory, claims_for
from tests.reports.helpers import Shop, seed_shop
from zapcrm.db import Database
from zapcrm.models import Role
from zapcrm.reports import repository
from zapcrm.reports.repository.replies import _reply_times

VIEWS = {
    "app.report_cycles": "conversation_cycles",
    "app.report_messages": "evolution_messages",
    "app.report_conversations": "evolution_conversations",
}


async def _ids(db: Database, claims: dict[str, str], relation: str) -> set[str]:
    async with db.tenant_session(claims) as session:
        rows = await session.execute(text(f"select id::text from {relation}"))
        return {row[0] for row in rows}


@pytest.mark.parametrize(("view", "table"), VIEWS.items())
async def test_a_supervisor_reads_their_company_whole_and_an_operator_nothing(
    db: Database, shop: Shop, factory: Factory, view: str, table: str
) -> None:
    other = await seed_shop(db, factory)  # a second company with the same kind of week
    async with db.service_session() as session:
        owned = {
            row[0]
            for row in await session.execute(
                text(f"select id::text from {table} where company_id = :c"),
                {"c": shop.company_id},
            )
        }
    assert owned
    assert await _ids(db, claims_for(shop.supervisor), view) == owned
    admin = await factory.user(shop.company_id, Role.ADMIN)
    assert await _ids(db, claims_for(admin), view) == owned
    # An operator's reports are refused at the edge; the view gives them nothing either (under
    # RLS they would see some chats: the view is no way around the policy).
    assert await _ids(db, claims_for(shop.operator), view) == set()
    assert (await _ids(db, claims_for(other.supervisor), view)).isdisjoint(owned)


def test_the_reports_read_through_the_views() -> None:
    # Through the tables, every row ran its policy's subquery: 12-19 s for a summary of
    # 100,000 cycles, 4-6 s through the views (bench/reports.py).
    read = " ".join(
        str(select(entity.id)) for entity in (repository.Cycle, repository.Message, repository.Chat)
    )
    assert all(view in read for view in VIEWS)
    replies = " ".join(
        str(_reply_times(business_hours, by_number))
        for business_hours in (False, True)
        for by_number in (False, True)
    )
    assert "app.report_cycles" in replies
    assert "app.report_messages" in replies
    for table in VIEWS.values():
        assert f"from {table}" not in replies
        assert f"join {table}" not in replies
