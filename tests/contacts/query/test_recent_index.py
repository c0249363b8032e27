"""A name search in the newest-first list: its page ids come from the RECENT order's index alone
(migration 0055, repository.py `_recent_page_by_ids`), and its keyset pages are still every
match once, newest first, ties broken by id."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import event, text

from tests.conftest import Factory
from tests.contacts.query.conftest import NOW, Tenant, add_contacts, new_tenant
from tests.contacts.query.test_pages import walk
from zapcrm.contacts.query import service
from zapcrm.contacts.query.schemas import ContactQuery
from zapcrm.db import Database
from zapcrm.models import Role


def _rows() -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for index in range(30):
        # Two of three are Damascenos (one misspelt search finds them all), the rest are not;
        # the first 12 share one created_at, so the id decides their order.
        name = f"Jonas Damasceno {index:02d}" if index % 3 else f"Maria Souza {index:02d}"
        row: dict[str, Any] = {"name": name, "email": f"c{index}@exemplo.com.br"}
        if index >= 12:
            row["created_at"] = NOW - timedelta(minutes=index // 2)  # pairs tie too
        rows.append(row)
    return rows


@pytest.fixture(scope="module")
async def damascenos(api: httpx.AsyncClient, db: Database, factory: Factory) -> Tenant:
    """30 contacts, 20 of them Damascenos, with ties in created_at."""
    tenant = await new_tenant(factory, api, roles=[Role.OPERATOR])
    await add_contacts(db, tenant, _rows())
    return tenant


# What each search finds: a typo, two words, and the others.
FOUND = {"damaceno": "Damasceno", "jonas damasceno": "Damasceno", "souza": "Souza"}


@pytest.mark.parametrize("q", list(FOUND))
@pytest.mark.parametrize("limit", [1, 4, 7, 50])
async def test_name_search_pages_visit_every_match_once_newest_first(
    api: httpx.AsyncClient, damascenos: Tenant, q: str, limit: int
) -> None:
    items = await walk(api, damascenos, limit, q=q, sort="recent")
    expected = [name for name in damascenos.contacts if FOUND[q] in name]
    assert len(expected) in (10, 20)
    assert sorted(item["name"] for item in items) == sorted(expected)
    newest = [(datetime.fromisoformat(item["created_at"]), uuid.UUID(item["id"])) for item in items]
    assert newest == sorted(newest, reverse=True)


async def test_a_name_search_reads_its_page_ids_from_the_index_alone(
    db: Database, factory: Factory
) -> None:
    """With the planner held to index scans (a small table would be read whole), the page's
    ids come from an index-only scan of the RECENT order's covering index: the rows tested
    are never fetched from the table, only the page's."""
    tenant = await new_tenant(factory, roles=[Role.OPERATOR])
    await add_contacts(db, tenant, _rows())
    async with db.autocommit_session() as session:
        # Index-only scans skip the table where the visibility map says every row is visible.
        await session.execute(text("vacuum (analyze) contacts"))
    identity = tenant.identity(Role.OPERATOR)
    sent: list[tuple[str, Any]] = []

    def record(*args: Any) -> None:
        sent.append((args[2], args[3]))

    async with db.tenant_session(identity.claims) as session:
        await session.execute(
            text(
                "select set_config('enable_seqscan', 'off', true),"
                " set_config('enable_bitmapscan', 'off', true)"
            )
        )
        event.listen(db.engine.sync_engine, "before_cursor_execute", record)
        try:
            page = await service.search_contacts(
                session, identity, ContactQuery(q="damaceno"), sort=None, cursor=None, limit=5
            )
        finally:
            event.remove(db.engine.sync_engine, "before_cursor_execute", record)
        statement, parameters = sent[-1]
        connection = await session.connection()
        plan = "\n".join(
            row[0] for row in await connection.exec_driver_sql(f"explain {statement}", parameters)
        )
    assert len(page.items) == 5
    assert "Index Only Scan using contacts_company_created_covering_idx" in plan, plan
