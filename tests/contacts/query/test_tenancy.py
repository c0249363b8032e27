"""Nothing crosses companies: search, count, export, segments, members and bulk tags, under RLS
and, as defence in depth, with RLS out of the way."""

from __future__ import annotations

import csv
import io
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from tests.conftest import Factory
from tests.contacts.query.conftest import NOW, Tenant, add_contacts, filter_param, new_tenant
from zapcrm.contacts.query import service, source
from zapcrm.contacts.query.schemas import ContactQuery
from zapcrm.db import Database
from zapcrm.models import Role

TWINS: list[dict[str, Any]] = [
    {
        "name": "Cliente Gêmeo",
        "phone_e164": "+5511987650001",
        "email": "gemeo@x.com",
        "tags": ["vip"],
    },
    {"name": "Outro Gêmeo", "phone_e164": "+5511987650002", "tags": ["vip"]},
]


@pytest.fixture
async def pair(api: httpx.AsyncClient, db: Database, factory: Factory) -> tuple[Tenant, Tenant]:
    """Two companies whose contacts look the same."""
    first = await new_tenant(factory, api, roles=[Role.OPERATOR, Role.SUPERVISOR])
    second = await new_tenant(factory, api, roles=[Role.OPERATOR, Role.SUPERVISOR])
    await add_contacts(db, first, TWINS)
    await add_contacts(db, second, TWINS)
    return first, second


async def test_search_count_and_export_stay_in_the_company(
    api: httpx.AsyncClient, pair: tuple[Tenant, Tenant]
) -> None:
    first, second = pair
    vip = filter_param({"field": "tags", "operator": "contains", "value": "vip"})
    for tenant in pair:
        headers = tenant.headers[Role.OPERATOR]
        own = set(tenant.contacts.values())
        for params in ({}, {"q": "gêmeo"}, {"q": "11 98765"}, {"q": "gemeo@"}, {"filter": vip}):
            page = (await api.get("/api/contacts", params=params, headers=headers)).json()
            assert {item["id"] for item in page["items"]} <= {str(i) for i in own}, params
            assert len(page["items"]) >= 1, params
            count = await api.get("/api/contacts/count", params=params, headers=headers)
            assert count.json()["count"] == len(page["items"]), params
        exported = await api.get("/api/contacts/export", headers=tenant.headers[Role.SUPERVISOR])
        rows = list(csv.reader(io.StringIO(exported.content[3:].decode()), delimiter=";"))
        assert len(rows) == 1 + len(TWINS)
    assert set(first.contacts.values()).isdisjoint(second.contacts.values())


async def test_segments_and_members_stay_in_the_company(
    api: httpx.AsyncClient, db: Database, pair: tuple[Tenant, Tenant]
) -> None:
    first, second = pair
    mine, theirs = first.headers[Role.OPERATOR], second.headers[Role.OPERATOR]
    static = await api.post(
        "/api/segments", json={"name": "Lista", "kind": "static"}, headers=theirs
    )
    segment_id = static.json()["id"]
    # The same name is free in another company.
    assert (
        await api.post("/api/segments", json={"name": "Lista", "kind": "static"}, headers=mine)
    ).status_code == 201
    url = f"/api/segments/{segment_id}"
    assert (await api.get(url, headers=mine)).status_code == 404
    assert (await api.get(f"{url}/contacts", headers=mine)).status_code == 404
    assert (await api.patch(url, json={"name": "X"}, headers=mine)).status_code == 404
    assert (await api.delete(url, headers=mine)).status_code == 404
    ids = [str(i) for i in first.contacts.values()]
    members = await api.post(f"{url}/members", json={"contact_ids": ids}, headers=mine)
    assert members.status_code == 404
    listed = await api.get("/api/contacts", params={"segment_id": segment_id}, headers=mine)
    assert listed.status_code == 404
    assert [s["name"] for s in (await api.get("/api/segments", headers=mine)).json()] == ["Lista"]
    # Their list cannot take my contacts either.
    added = await api.post(f"{url}/members", json={"contact_ids": ids}, headers=theirs)
    assert added.json() == {"added": 0}
    async with db.service_session() as session:
        assert (
            await session.execute(
                text("select count(*) from segments where id = :s"), {"s": segment_id}
            )
        ).scalar_one() == 1


async def test_bulk_tag_stays_in_the_company(
    api: httpx.AsyncClient, db: Database, pair: tuple[Tenant, Tenant]
) -> None:
    first, second = pair
    body = {"tag": "só minha", "action": "add", "filter": {"op": "and", "conditions": []}}
    tagged = await api.post(
        "/api/contacts/bulk-tag", json=body, headers=first.headers[Role.OPERATOR]
    )
    assert tagged.json() == {"affected": len(TWINS)}
    async with db.service_session() as session:
        untouched = (
            await session.execute(
                text(
                    "select count(*) from contacts where company_id = :c and 'só minha' = any(tags)"
                ),
                {"c": second.company_id},
            )
        ).scalar_one()
    assert untouched == 0


async def test_the_repository_scopes_by_company_even_without_rls(
    db: Database, pair: tuple[Tenant, Tenant]
) -> None:
    first, _second = pair
    identity = first.identity(Role.OPERATOR)
    # A service session bypasses RLS (and the tenant view needs JWT claims): read the table,
    # so only the repository's explicit company filter stands.
    before = source.CONTACTS
    source.CONTACTS = source.stored_name_table()
    try:
        async with db.service_session() as session:
            page = await service.search_contacts(
                session, identity, ContactQuery(q="gêmeo"), sort=None, cursor=None, limit=50,
                now=NOW,
            )  # fmt: skip
            count = await service.count_contacts(session, identity, ContactQuery(), now=NOW)
    finally:
        source.CONTACTS = before
    assert {item.id for item in page.items} == set(first.contacts.values())
    assert count == len(TWINS)
