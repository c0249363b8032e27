"""Segments: CRUD, dynamic (saved filter, validated when saved) vs static (members by id or by
filter, set-based), their contact pages, and bulk tagging and stage changes."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import text

from tests.conftest import Factory
from tests.contacts.query.conftest import (
    Tenant,
    add_contacts,
    add_definitions,
    filter_param,
    new_tenant,
)
from zapcrm.db import Database
from zapcrm.models import Role

VIP = {"field": "tags", "operator": "contains", "value": "vip"}


@pytest.fixture
async def shop(api: httpx.AsyncClient, db: Database, factory: Factory) -> Tenant:
    """A company with an operator, a supervisor and six contacts."""
    tenant = await new_tenant(factory, api, roles=[Role.OPERATOR, Role.SUPERVISOR])
    await add_definitions(db, tenant, [("plano", "Plano", "list", ["pro", "basico"])])
    await add_contacts(
        db,
        tenant,
        [
            {"name": "Ana", "tags": ["vip"], "custom_fields": {"plano": "pro"}},
            {"name": "Bia", "tags": ["vip", "lead"]},
            {"name": "Caio", "tags": ["lead"]},
            {"name": "Davi", "tags": ["VIP"]},
            {"name": "Edu"},
            {"name": "Fabi", "tags": ["cliente"], "opted_out": True},
        ],
    )
    return tenant


async def call(
    api: httpx.AsyncClient,
    tenant: Tenant,
    method: str,
    url: str,
    body: Any = None,
    role: Role = Role.OPERATOR,
    **params: Any,
) -> httpx.Response:
    """One request as a user of the tenant."""
    return await api.request(
        method, url, json=body, params=params or None, headers=tenant.headers[role]
    )


async def names(api: httpx.AsyncClient, tenant: Tenant, url: str, **params: Any) -> set[str]:
    """Names on every page of a contact list."""
    found: set[str] = set()
    cursor = None
    while True:
        query = {"limit": 2, **params, **({"cursor": cursor} if cursor else {})}
        response = await call(api, tenant, "GET", url, **query)
        assert response.status_code == 200, response.text
        page = response.json()
        found |= {item["name"] for item in page["items"]}
        if not (cursor := page["next_cursor"]):
            return found


async def test_dynamic_segment_crud(api: httpx.AsyncClient, shop: Tenant) -> None:
    created = await call(api, shop, "POST", "/api/segments", {"name": " VIPs ", "filter": VIP})
    assert created.status_code == 201, created.text
    segment = created.json()
    assert (segment["name"], segment["kind"], segment["filter"]) == ("VIPs", "dynamic", VIP)
    assert segment["created_by"] == str(shop.users[Role.OPERATOR].id)
    url = f"/api/segments/{segment['id']}"
    assert (await call(api, shop, "GET", url)).json() == segment
    listed = (await call(api, shop, "GET", "/api/segments")).json()
    assert [item["id"] for item in listed] == [segment["id"]]
    # Davi's "VIP" is the same tag as "vip".
    assert await names(api, shop, f"{url}/contacts") == {"Ana", "Bia", "Davi"}
    assert await names(api, shop, "/api/contacts", segment_id=segment["id"]) == {
        "Ana",
        "Bia",
        "Davi",
    }
    count = await call(api, shop, "GET", "/api/contacts/count", segment_id=segment["id"])
    assert count.json() == {"count": 3}
    # A segment narrows further with q and filter.
    assert await names(api, shop, f"{url}/contacts", q="bia") == {"Bia"}

    lead = {"field": "tags", "operator": "contains", "value": "lead"}
    patched = await call(api, shop, "PATCH", url, {"filter": lead, "name": "Leads"})
    assert patched.status_code == 200, patched.text
    assert (patched.json()["name"], patched.json()["filter"]) == ("Leads", lead)
    assert patched.json()["updated_at"] >= segment["updated_at"]
    assert await names(api, shop, f"{url}/contacts") == {"Bia", "Caio"}

    assert (await call(api, shop, "DELETE", url)).status_code == 204
    assert (await call(api, shop, "GET", url)).status_code == 404
    assert (await call(api, shop, "DELETE", url)).status_code == 404
    assert (await call(api, shop, "GET", f"{url}/contacts")).status_code == 404


async def test_a_dynamic_filter_is_validated_when_saved(
    api: httpx.AsyncClient, shop: Tenant
) -> None:
    bad = {
        "op": "and",
        "conditions": [VIP, {"field": "custom.plano", "operator": "equals", "value": "gold"}],
    }
    refused = await call(api, shop, "POST", "/api/segments", {"name": "Ouro", "filter": bad})
    assert refused.status_code == 422
    assert refused.json()["error"]["fields"][0]["field"] == "filter.conditions[1].value"
    assert (await call(api, shop, "GET", "/api/segments")).json() == []

    segment = (await call(api, shop, "POST", "/api/segments", {"name": "Pro"})).json()
    assert segment["filter"] == {}  # an empty dynamic segment is everyone
    assert len(await names(api, shop, f"/api/segments/{segment['id']}/contacts")) == 6
    url = f"/api/segments/{segment['id']}"
    assert (await call(api, shop, "PATCH", url, {"filter": bad})).status_code == 422
    assert (await call(api, shop, "PATCH", url, {"kind": "static"})).status_code == 422
    pro = {"field": "custom.plano", "operator": "equals", "value": "pro"}
    assert (await call(api, shop, "PATCH", url, {"filter": pro})).status_code == 200
    assert await names(api, shop, f"{url}/contacts") == {"Ana"}


async def test_names_are_unique_per_company(api: httpx.AsyncClient, shop: Tenant) -> None:
    first = await call(api, shop, "POST", "/api/segments", {"name": "Lista", "kind": "static"})
    assert first.status_code == 201
    again = await call(api, shop, "POST", "/api/segments", {"name": "Lista", "filter": VIP})
    assert again.status_code == 409
    other = (await call(api, shop, "POST", "/api/segments", {"name": "Outra"})).json()
    renamed = await call(api, shop, "PATCH", f"/api/segments/{other['id']}", {"name": "Lista"})
    assert renamed.status_code == 409
    # The failed rename left the request usable and the segment unchanged.
    assert (await call(api, shop, "GET", f"/api/segments/{other['id']}")).json()["name"] == "Outra"
    assert (await call(api, shop, "POST", "/api/segments", {"name": "  "})).status_code == 422


async def test_static_list_members_by_id_and_by_filter(
    api: httpx.AsyncClient, db: Database, factory: Factory, shop: Tenant
) -> None:
    stranger = await new_tenant(factory, roles=[Role.OPERATOR])
    await add_contacts(db, stranger, [{"name": "Alheio"}])
    with_filter = await call(
        api, shop, "POST", "/api/segments", {"name": "L", "kind": "static", "filter": VIP}
    )
    assert with_filter.status_code == 422
    segment = (
        await call(api, shop, "POST", "/api/segments", {"name": "Lista", "kind": "static"})
    ).json()
    url = f"/api/segments/{segment['id']}"
    members = f"{url}/members"
    ids = [str(shop.contacts["Ana"]), str(shop.contacts["Caio"]), str(stranger.contacts["Alheio"])]
    added = await call(api, shop, "POST", members, {"contact_ids": [*ids, ids[0]]})
    assert added.json() == {"added": 2}  # another company's contact is not added
    assert (await call(api, shop, "POST", members, {"contact_ids": ids})).json() == {"added": 0}
    assert await names(api, shop, f"{url}/contacts") == {"Ana", "Caio"}

    lead = {"field": "tags", "operator": "contains", "value": "lead"}
    by_filter = await call(api, shop, "POST", members, {"filter": lead})
    assert by_filter.json() == {"added": 1}  # Bia; Caio was there
    by_search = await call(api, shop, "POST", members, {"q": "edu"})
    assert by_search.json() == {"added": 1}
    assert await names(api, shop, f"{url}/contacts") == {"Ana", "Bia", "Caio", "Edu"}
    count = await call(api, shop, "GET", "/api/contacts/count", segment_id=segment["id"])
    assert count.json() == {"count": 4}

    removed = await call(api, shop, "DELETE", members, {"contact_ids": [ids[0], ids[2]]})
    assert removed.json() == {"removed": 1}
    removed = await call(api, shop, "DELETE", members, {"filter": lead})
    assert removed.json() == {"removed": 2}
    assert await names(api, shop, f"{url}/contacts") == {"Edu"}

    assert (await call(api, shop, "POST", members, {})).status_code == 422
    both = {"contact_ids": ids, "filter": lead}
    assert (await call(api, shop, "POST", members, both)).status_code == 422
    too_many = {"contact_ids": [ids[0]] * 1001}
    assert (await call(api, shop, "POST", members, too_many)).status_code == 422
    dynamic = (await call(api, shop, "POST", "/api/segments", {"name": "Din"})).json()
    dynamic_members = f"/api/segments/{dynamic['id']}/members"
    assert (await call(api, shop, "POST", dynamic_members, {"contact_ids": ids})).status_code == 409
    async with db.service_session() as session:
        stored = (
            await session.execute(
                text("select count(*) from segment_members where segment_id = :s"),
                {"s": segment["id"]},
            )
        ).scalar_one()
    assert stored == 1
    # Deleting the list removes its memberships, never the contacts.
    assert (await call(api, shop, "DELETE", url)).status_code == 204
    assert (await call(api, shop, "GET", "/api/contacts/count")).json() == {"count": 6}


async def test_bulk_tag_adds_and_removes_in_one_statement(
    api: httpx.AsyncClient, db: Database, shop: Tenant
) -> None:
    lead = {"field": "tags", "operator": "contains", "value": "lead"}
    body = {"tag": " promo  verão ", "action": "add", "filter": lead}
    added = await call(api, shop, "POST", "/api/contacts/bulk-tag", body)
    assert added.status_code == 200, added.text
    assert added.json() == {"affected": 2}
    assert (await call(api, shop, "POST", "/api/contacts/bulk-tag", body)).json() == {"affected": 0}
    tagged = {"field": "tags", "operator": "contains", "value": "promo verão"}
    assert await names(api, shop, "/api/contacts", filter=filter_param(tagged)) == {"Bia", "Caio"}

    # Davi already has "VIP": adding "vip" to everyone leaves his spelling alone.
    everyone = {"tag": "vip", "action": "add", "filter": {"op": "and", "conditions": []}}
    assert (await call(api, shop, "POST", "/api/contacts/bulk-tag", everyone)).json() == {
        "affected": 3
    }
    davi = await call(api, shop, "GET", "/api/contacts", q="davi")
    assert davi.json()["items"][0]["tags"] == ["VIP"]

    remove = {"tag": "promo verão", "action": "remove", "q": "bia"}
    assert (await call(api, shop, "POST", "/api/contacts/bulk-tag", remove)).json() == {
        "affected": 1
    }
    assert await names(api, shop, "/api/contacts", filter=filter_param(tagged)) == {"Caio"}
    # Removing takes off the tag in any spelling and keeps the others in their order.
    shouted = {"tag": "PROMO VERÃO", "action": "remove", "q": "caio"}
    assert (await call(api, shop, "POST", "/api/contacts/bulk-tag", shouted)).json() == {
        "affected": 1
    }
    caio = await call(api, shop, "GET", "/api/contacts", q="caio")
    assert caio.json()["items"][0]["tags"] == ["lead", "vip"]
    vip_off = {"tag": "vip", "action": "remove", "q": "davi"}
    assert (await call(api, shop, "POST", "/api/contacts/bulk-tag", vip_off)).json() == {
        "affected": 1
    }
    davi = await call(api, shop, "GET", "/api/contacts", q="davi")
    assert davi.json()["items"][0]["tags"] == []

    nothing = {"tag": "x", "action": "add"}
    assert (await call(api, shop, "POST", "/api/contacts/bulk-tag", nothing)).status_code == 422
    blank = {"tag": "   ", "action": "add", "q": "ana"}
    assert (await call(api, shop, "POST", "/api/contacts/bulk-tag", blank)).status_code == 422
    async with db.service_session() as session:
        events = (
            await session.execute(
                text(
                    "select details->>'action', count(*) from contact_events"
                    " where company_id = :c and kind = 'tags_changed' group by 1 order by 1"
                ),
                {"c": shop.company_id},
            )
        ).all()
    assert [tuple(row) for row in events] == [("added", 5), ("removed", 3)]


async def test_bulk_stage_moves_the_list_and_writes_each_change_in_the_timeline(
    api: httpx.AsyncClient, db: Database, factory: Factory, shop: Tenant
) -> None:
    await add_definitions(db, shop, stages=[("novo", "Novo"), ("proposta", "Proposta")])
    lead = {"field": "tags", "operator": "contains", "value": "lead"}
    # Someone elsewhere with the same tag is never touched (RLS, and the statement's company).
    stranger = await new_tenant(factory, api, roles=[Role.SUPERVISOR])
    await add_contacts(db, stranger, [{"name": "Gil", "tags": ["lead"], "funnel_stage": None}])

    body = {"stage": "proposta", "filter": lead}
    moved = await call(api, shop, "POST", "/api/contacts/bulk-stage", body)
    assert moved.status_code == 200, moved.text
    assert moved.json() == {"affected": 2}
    assert (await call(api, shop, "POST", "/api/contacts/bulk-stage", body)).json() == {
        "affected": 0
    }
    in_proposal = {"field": "stage", "operator": "equals", "value": "proposta"}
    assert await names(api, shop, "/api/contacts", filter=filter_param(in_proposal)) == {
        "Bia",
        "Caio",
    }
    # Out of every stage, for one of them.
    out = await call(api, shop, "POST", "/api/contacts/bulk-stage", {"stage": None, "q": "bia"})
    assert out.json() == {"affected": 1}
    history = await call(api, shop, "GET", f"/api/contacts/{shop.contacts['Bia']}/history")
    changes = [
        item["details"]["changes"]["funnel_stage"]
        for item in history.json()["items"]
        if item["kind"] == "contact.updated"
    ]
    assert changes == [{"from": "proposta", "to": None}, {"from": None, "to": "proposta"}]

    for wrong in ({"stage": "ganho", "q": "ana"}, {"stage": "novo"}):
        refused = await call(api, shop, "POST", "/api/contacts/bulk-stage", wrong)
        assert refused.status_code == 422, refused.text
    async with db.service_session() as session:
        gil = (
            await session.execute(
                text("select funnel_stage from contacts where id = :id"),
                {"id": stranger.contacts["Gil"]},
            )
        ).scalar_one()
    assert gil is None


async def test_a_saved_filter_keeps_stage_keys_whatever_name_was_typed(
    api: httpx.AsyncClient, db: Database, shop: Tenant
) -> None:
    await add_definitions(db, shop, stages=[("novo", "Novo"), ("proposta", "Proposta enviada")])
    typed = {
        "op": "or",
        "conditions": [
            {"field": "stage", "operator": "equals", "value": " proposta ENVIADA "},
            {"field": "stage", "operator": "absent"},
        ],
    }
    created = await call(api, shop, "POST", "/api/segments", {"name": "Propostas", "filter": typed})
    assert created.status_code == 201, created.text
    kept = created.json()["filter"]["conditions"]
    assert kept == [
        {"field": "stage", "operator": "equals", "value": "proposta"},
        {"field": "stage", "operator": "absent"},
    ]
    # So renaming the stage later leaves the segment working.
    async with db.service_session() as session:
        await session.execute(
            text("update funnel_stages set label = 'Orçamento' where company_id = :c"
                 " and key = 'proposta'"),
            {"c": shop.company_id},
        )  # fmt: skip
    url = f"/api/segments/{created.json()['id']}/contacts"
    assert (await call(api, shop, "GET", url)).status_code == 200
    patched = await call(
        api,
        shop,
        "PATCH",
        f"/api/segments/{created.json()['id']}",
        {"filter": {"field": "stage", "operator": "not_equals", "value": "orcamento"}},
    )
    assert patched.json()["filter"]["value"] == "proposta"
