"""Contact lists: keyset pages visit every contact exactly once in every order, counts agree,
bad cursors and parameters are refused, and the hot path's query count is pinned."""

from __future__ import annotations

import unicodedata
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import event

from tests.conftest import Factory
from tests.contacts.query.conftest import (
    NOW,
    Tenant,
    add_contacts,
    add_definitions,
    filter_param,
    new_tenant,
)
from zapcrm.contacts.query import service
from zapcrm.contacts.query.schemas import ContactQuery
from zapcrm.db import Database
from zapcrm.models import Role

FIRST = ["Ana", "Ângela", "Bruno", "Álvaro", "beatriz", "Caio", "Édson", "Joana", "joão", "Zé"]


def _rows() -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for index in range(25):
        row: dict[str, Any] = {
            "name": f"{FIRST[index % len(FIRST)]} Cliente {index:02d}",
            "tags": ["lote"] if index % 2 else [],
        }
        # 13 contacts share the transaction's created_at (the id breaks the tie); the rest
        # have their own. Every third one never talked to us (last interaction NULL), and
        # some share a last interaction time.
        if index >= 13:
            row["created_at"] = NOW - timedelta(hours=index)
        if index % 3:
            row["last_interaction_at"] = NOW - timedelta(minutes=10 * (index % 4))
        rows.append(row)
    return rows


@pytest.fixture(scope="module")
async def crowd(api: httpx.AsyncClient, db: Database, factory: Factory) -> Tenant:
    """25 contacts with ties in every sort key."""
    tenant = await new_tenant(factory, api, roles=[Role.OPERATOR])
    await add_contacts(db, tenant, _rows())
    return tenant


async def walk(
    api: httpx.AsyncClient, tenant: Tenant, limit: int, **params: str
) -> list[dict[str, Any]]:
    """Every item of every page of GET /api/contacts, following next_cursor."""
    items: list[dict[str, Any]] = []
    cursor = None
    for _page in range(100):
        query: dict[str, Any] = {"limit": limit, **params}
        if cursor:
            query["cursor"] = cursor
        response = await api.get(
            "/api/contacts", params=query, headers=tenant.headers[Role.OPERATOR]
        )
        assert response.status_code == 200, response.text
        page = response.json()
        assert len(page["items"]) <= limit
        items += page["items"]
        cursor = page["next_cursor"]
        if cursor is None:
            return items
    raise AssertionError("pagination did not end")


def _plain(name: str) -> str:
    decomposed = unicodedata.normalize("NFKD", name.lower())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def _when(value: str | None) -> datetime:
    return datetime.fromisoformat(value) if value else datetime.min.replace(tzinfo=UTC)


@pytest.mark.parametrize("sort", ["recent", "last_interaction", "name", "relevance"])
@pytest.mark.parametrize("limit", [1, 4, 7, 100])
async def test_pages_visit_every_contact_once_in_order(
    api: httpx.AsyncClient, crowd: Tenant, sort: str, limit: int
) -> None:
    items = await walk(api, crowd, limit, sort=sort)
    ids = [item["id"] for item in items]
    assert len(ids) == len(set(ids)) == len(crowd.contacts) == 25
    if sort == "recent":
        newest = [(_when(item["created_at"]), uuid.UUID(item["id"])) for item in items]
        assert newest == sorted(newest, reverse=True)
    elif sort == "last_interaction":
        seen = [item["last_interaction_at"] for item in items]
        assert seen.index(None) == sum(1 for value in seen if value)  # NULLs last
        latest = [(-_when(item["last_interaction_at"]).timestamp(), item["id"]) for item in items]
        assert latest == sorted(latest)
    elif sort == "name":
        alphabetical = [(_plain(item["name"]), item["id"]) for item in items]
        assert alphabetical == sorted(alphabetical)


@pytest.mark.parametrize("sort", ["recent", "relevance"])
@pytest.mark.parametrize("limit", [1, 3, 50])
async def test_search_pages_and_count_agree(
    api: httpx.AsyncClient, crowd: Tenant, limit: int, sort: str
) -> None:
    lot = filter_param({"field": "tags", "operator": "contains", "value": "lote"})
    items = await walk(api, crowd, limit, q="cliente", filter=lot, sort=sort)
    ids = [item["id"] for item in items]
    assert len(ids) == len(set(ids)) == 12
    count = await api.get(
        "/api/contacts/count",
        params={"q": "cliente", "filter": lot},
        headers=crowd.headers[Role.OPERATOR],
    )
    assert count.json() == {"count": 12}
    total = await api.get("/api/contacts/count", headers=crowd.headers[Role.OPERATOR])
    assert total.json() == {"count": 25}


async def test_a_capped_count_stops_at_its_cap_and_says_so(db: Database, crowd: Tenant) -> None:
    """The panel's count: up to the cap it is exact; past it, the cap and `more` (never a
    number the list does not hold); without criteria the kept tallies give it exactly."""
    identity = crowd.identity(Role.OPERATOR)
    lot = {"field": "tags", "operator": "contains", "value": "lote"}
    searched = ContactQuery(q="cliente", filter=lot)  # 12 contacts

    async def counted(query: ContactQuery, cap: int | None) -> service.CappedCount:
        async with db.tenant_session(identity.claims) as session:
            return await service.count_up_to(session, identity, query, cap=cap, now=NOW)

    assert await counted(searched, 5) == service.CappedCount(count=5, more=True)
    assert await counted(searched, 11) == service.CappedCount(count=11, more=True)
    assert await counted(searched, 12) == service.CappedCount(count=12, more=False)
    assert await counted(searched, None) == service.CappedCount(count=12, more=False)
    assert await counted(ContactQuery(), 5) == service.CappedCount(count=25, more=False)


async def test_post_search_pages_like_get(api: httpx.AsyncClient, crowd: Tenant) -> None:
    headers = crowd.headers[Role.OPERATOR]
    body: dict[str, Any] = {
        "filter": {"op": "and", "conditions": [{"field": "tags", "operator": "absent"}]},
        "sort": "name",
        "limit": 5,
    }
    seen: list[str] = []
    while True:
        page = (await api.post("/api/contacts/search", json=body, headers=headers)).json()
        seen += [item["id"] for item in page["items"]]
        if page["next_cursor"] is None:
            break
        body["cursor"] = page["next_cursor"]
    assert len(seen) == len(set(seen)) == 13
    counted = await api.post(
        "/api/contacts/count", json={"filter": body["filter"]}, headers=headers
    )
    assert counted.json() == {"count": 13}


async def test_bad_cursors_and_parameters_are_refused(
    api: httpx.AsyncClient, crowd: Tenant
) -> None:
    headers = crowd.headers[Role.OPERATOR]
    first = (await api.get("/api/contacts", params={"limit": 2}, headers=headers)).json()
    cursor = first["next_cursor"]

    async def status(path: str = "/api/contacts", **params: Any) -> int:
        return (await api.get(path, params=params, headers=headers)).status_code

    assert await status(cursor=cursor) == 200
    assert await status(cursor=cursor, sort="name") == 400  # a cursor of another order
    assert await status(cursor="bm9wZQ") == 400
    assert await status(cursor=cursor[:-3]) == 400
    assert await status(limit=0) == 422
    assert await status(limit=101) == 422
    assert await status(sort="random") == 422
    assert await status(filter="{not json") == 422
    assert await status(filter="[1, 2]") == 422
    assert await status(filter="x" * 8001) == 422
    assert await status(q="x" * 201) == 422
    assert await status(segment_id="nope") == 422
    bad_filter = await api.get(
        "/api/contacts",
        params={"filter": filter_param({"field": "nome", "operator": "equals", "value": "x"})},
        headers=headers,
    )
    assert bad_filter.status_code == 422
    error = bad_filter.json()["error"]
    assert error["fields"] == [{"field": "filter.field", "message": error["fields"][0]["message"]}]
    assert "filter.field" in error["message"]
    assert (await api.get("/api/contacts")).status_code == 401


async def test_a_nested_json_bomb_in_the_body_is_refused(
    api: httpx.AsyncClient, crowd: Tenant
) -> None:
    headers = {**crowd.headers[Role.OPERATOR], "Content-Type": "application/json"}
    for depth in (50, 30_000):  # 30,000 levels still fit the 1 MB body limit
        bomb = '{"filter":' + '{"op":"and","conditions":[' * depth + "]}" * depth + "}"
        response = await api.post("/api/contacts/search", content=bomb, headers=headers)
        assert response.status_code in (400, 422), response.text
    too_deep_param = "[" * 2000 + "]" * 2000
    response = await api.get("/api/contacts", params={"filter": too_deep_param}, headers=headers)
    assert response.status_code == 422


@contextmanager
def counting_statements(db: Database) -> Iterator[list[str]]:
    """Record every statement the engine sends while the block runs."""
    statements: list[str] = []

    def record(*args: Any) -> None:
        statements.append(args[2])

    event.listen(db.engine.sync_engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(db.engine.sync_engine, "before_cursor_execute", record)


async def test_query_count_of_a_search_page_is_pinned(db: Database, factory: Factory) -> None:
    tenant = await new_tenant(factory, roles=[Role.OPERATOR])
    await add_definitions(db, tenant, [("cidade", "Cidade", "text", [])])
    await add_contacts(db, tenant, [{"name": "Maria", "phone_e164": "+5511987654321"}])
    identity = tenant.identity(Role.OPERATOR)
    cases = [
        (ContactQuery(), 1),
        (ContactQuery(q="mar"), 1),  # a name search needs nothing from the company
        (ContactQuery(q="maria"), 2),  # but a word's typos, looked up among its name words
        (ContactQuery(q="11 98765"), 2),  # a phone needs the company's region
        (ContactQuery(q="11 98765", filter={"field": "custom.cidade", "operator": "absent"}), 3),
    ]
    for query, expected in cases:
        async with db.tenant_session(identity.claims) as session:
            with counting_statements(db) as statements:
                page = await service.search_contacts(
                    session, identity, query, sort=None, cursor=None, limit=10, now=NOW
                )
        assert [item.name for item in page.items] == ["Maria"]
        assert len(statements) == expected, statements
