"""List rules: supervisors and admins manage them, everyone reads them; contacts created through
the API or the bulk endpoint, contacts a change makes match, and contacts an import created or
changed, join the static lists whose active rules they match, one INSERT ... SELECT per rule."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest
from sqlalchemy import event, text
from sqlalchemy.exc import IntegrityError

from tests.conftest import Factory
from tests.contacts.importing.conftest import (
    Tenant,
    csv_bytes,
    define,
    import_file,
    new_tenant,
    query,
)
from zapcrm.contacts.importing import limits
from zapcrm.models import Role
from zapcrm.runtime import Runtime

RULES = "/api/list-rules"
FROM_SITE = {"field": "source", "operator": "equals", "value": "site"}
VIP = {"field": "tags", "operator": "contains", "value": ["vip"]}


async def _segment(
    api: httpx.AsyncClient, tenant: Tenant, name: str, kind: str = "static", **extra: Any
) -> str:
    response = await api.post(
        "/api/segments",
        json={"name": name, "kind": kind, **extra},
        headers=tenant.headers[Role.SUPERVISOR],
    )
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


async def _rule(
    api: httpx.AsyncClient,
    tenant: Tenant,
    segment_id: str,
    filter_json: dict[str, Any],
    **extra: Any,
) -> dict[str, Any]:
    response = await api.post(
        RULES,
        json={
            "segment_id": segment_id,
            "name": f"regra {uuid.uuid4().hex[:6]}",
            "filter": filter_json,
            **extra,
        },
        headers=tenant.headers[Role.SUPERVISOR],
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def _members(api: httpx.AsyncClient, tenant: Tenant, segment_id: str) -> set[str]:
    """Names on a list, read through the paged members endpoint one contact per page."""
    names: set[str] = set()
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 1, **({"cursor": cursor} if cursor else {})}
        page = await api.get(
            f"/api/segments/{segment_id}/contacts",
            params=params,
            headers=tenant.headers[Role.OPERATOR],
        )
        assert page.status_code == 200, page.text
        names.update(item["name"] for item in page.json()["items"])
        cursor = page.json()["next_cursor"]
        if cursor is None:
            return names


async def _create(api: httpx.AsyncClient, tenant: Tenant, **fields: Any) -> str:
    response = await api.post("/api/contacts", json=fields, headers=tenant.headers[Role.OPERATOR])
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


@contextmanager
def _member_inserts(runtime: Runtime) -> Iterator[list[str]]:
    """The statements that put contacts on lists while the block runs."""
    seen: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if statement.lower().startswith("insert into segment_members"):
            seen.append(statement)

    engine = runtime.db.engine.sync_engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


async def test_supervisors_manage_rules_and_everyone_reads_them(
    client: httpx.AsyncClient, runtime: Runtime, factory: Factory
) -> None:
    tenant = await new_tenant(factory, client)
    novos = await _segment(client, tenant, "Novos do site")
    operator = tenant.headers[Role.OPERATOR]
    body = {"segment_id": novos, "name": "Site", "filter": FROM_SITE}
    assert (await client.post(RULES, json=body, headers=operator)).status_code == 403

    rule = await _rule(client, tenant, novos, FROM_SITE)
    assert (rule["segment_id"], rule["filter"], rule["active"]) == (novos, FROM_SITE, True)
    listed = (await client.get(RULES, headers=operator)).json()
    assert [item["id"] for item in listed] == [rule["id"]]
    other_list = await _segment(client, tenant, "Outra")
    by_list = await client.get(RULES, params={"segment_id": other_list}, headers=operator)
    assert by_list.json() == []
    url = f"{RULES}/{rule['id']}"
    assert (await client.get(url, headers=operator)).json()["name"] == rule["name"]
    assert (await client.patch(url, json={"active": False}, headers=operator)).status_code == 403
    assert (await client.delete(url, headers=operator)).status_code == 403

    supervisor = tenant.headers[Role.SUPERVISOR]
    patched = await client.patch(
        url, json={"active": False, "name": "  Site  antigo "}, headers=supervisor
    )
    assert patched.status_code == 200, patched.text
    assert (patched.json()["active"], patched.json()["name"]) == (False, "Site antigo")
    untouched = await client.patch(url, json={"filter": None, "name": None}, headers=supervisor)
    assert (untouched.json()["filter"], untouched.json()["name"]) == (FROM_SITE, "Site antigo")
    assert (await client.delete(url, headers=tenant.headers[Role.ADMIN])).status_code == 204
    assert (await client.get(url, headers=operator)).status_code == 404
    audit = await query(
        runtime.db,
        "select action from audit_log where company_id = :c and target_id = :id order by id",
        c=tenant.company_id,
        id=rule["id"],
    )
    assert [row["action"] for row in audit] == [
        "list_rule.created",
        "list_rule.updated",
        "list_rule.deleted",
    ]


async def test_a_rule_fills_a_static_list_of_its_company_with_a_valid_filter(
    client: httpx.AsyncClient, runtime: Runtime, factory: Factory
) -> None:
    tenant = await new_tenant(factory, client)
    other = await new_tenant(factory, client, (Role.SUPERVISOR,))
    supervisor = tenant.headers[Role.SUPERVISOR]
    dynamic = await _segment(client, tenant, "Dinâmico", "dynamic", filter=FROM_SITE)
    static = await _segment(client, tenant, "Estática")
    theirs = await _segment(client, other, "Deles")

    refused = await client.post(
        RULES, json={"segment_id": dynamic, "name": "x", "filter": {}}, headers=supervisor
    )
    assert refused.status_code == 422
    assert "listas estáticas" in refused.json()["error"]["message"]
    for missing in (theirs, str(uuid.uuid4())):
        response = await client.post(
            RULES, json={"segment_id": missing, "name": "x", "filter": {}}, headers=supervisor
        )
        assert response.status_code == 404
        assert response.json()["error"]["message"] == "lista não encontrada"
    bad_filter = {"field": "shoe_size", "operator": "equals", "value": "42"}
    invalid = await client.post(
        RULES, json={"segment_id": static, "name": "x", "filter": bad_filter}, headers=supervisor
    )
    assert invalid.status_code == 422
    rule = await _rule(client, tenant, static, {})
    broken = await client.patch(
        f"{RULES}/{rule['id']}", json={"filter": bad_filter}, headers=supervisor
    )
    assert broken.status_code == 422

    # The database holds the same line for writers that skip the service.
    for segment_id in (dynamic, theirs):
        with pytest.raises(IntegrityError):
            async with runtime.db.service_session() as session:
                await session.execute(
                    text(
                        "insert into list_rules (company_id, segment_id, name)"
                        " values (:c, :s, 'direta')"
                    ),
                    {"c": tenant.company_id, "s": segment_id},
                )
    await client.delete(f"/api/segments/{static}", headers=supervisor)
    assert (await client.get(f"{RULES}/{rule['id']}", headers=supervisor)).status_code == 404


async def test_contacts_created_through_the_api_join_the_lists_they_match(
    client: httpx.AsyncClient, runtime: Runtime, factory: Factory
) -> None:
    tenant = await new_tenant(factory, client)
    site = await _segment(client, tenant, "Do site")
    vips = await _segment(client, tenant, "VIPs")
    paused = await _segment(client, tenant, "Pausada")
    everyone = await _segment(client, tenant, "Todos")
    await _rule(client, tenant, site, FROM_SITE)
    await _rule(client, tenant, vips, VIP)
    await _rule(client, tenant, paused, {}, active=False)
    await _rule(client, tenant, everyone, {"op": "and", "conditions": []})
    await _create(client, tenant, name="Ana", phone="11987650001", source="Site", tags=["vip"])
    await _create(client, tenant, name="Bia", phone="11987650002", source="feira")
    await _create(client, tenant, name="Caio", phone="11987650003", tags=["vip", "atacado"])

    assert await _members(client, tenant, site) == {"Ana"}
    assert await _members(client, tenant, vips) == {"Ana", "Caio"}
    assert await _members(client, tenant, paused) == set()
    assert await _members(client, tenant, everyone) == {"Ana", "Bia", "Caio"}

    # Members stay in the lists' hands: one taken off by hand stays off.
    ana = await query(
        runtime.db,
        "select id from contacts where company_id = :c and name = 'Ana'",
        c=tenant.company_id,
    )
    removed = await client.request(
        "DELETE",
        f"/api/segments/{vips}/members",
        json={"contact_ids": [str(ana[0]["id"])]},
        headers=tenant.headers[Role.OPERATOR],
    )
    assert removed.json() == {"removed": 1}
    await _create(client, tenant, name="Dani", phone="11987650004", tags=["vip"])
    assert await _members(client, tenant, vips) == {"Caio", "Dani"}


async def test_a_change_that_makes_a_contact_match_puts_it_on_the_list(
    client: httpx.AsyncClient, runtime: Runtime, factory: Factory
) -> None:
    tenant = await new_tenant(factory, client)
    vips = await _segment(client, tenant, "VIPs")
    await _rule(client, tenant, vips, VIP)
    bia = await _create(client, tenant, name="Bia", phone="11987650021")
    headers = tenant.headers[Role.OPERATOR]

    async def change(**fields: Any) -> None:
        response = await client.patch(f"/api/contacts/{bia}", json=fields, headers=headers)
        assert response.status_code == 200, response.text

    assert await _members(client, tenant, vips) == set()
    await change(tags=["vip"])
    assert await _members(client, tenant, vips) == {"Bia"}
    # Taken off by hand, an unrelated edit does not put her back: she matched already.
    removed = await client.request(
        "DELETE", f"/api/segments/{vips}/members", json={"contact_ids": [bia]}, headers=headers
    )
    assert removed.json() == {"removed": 1}
    await change(name="Bia Souza")
    assert await _members(client, tenant, vips) == set()
    # Leaving the rule's filter and entering it again does.
    await change(tags=[])
    await change(tags=["vip", "atacado"])
    assert await _members(client, tenant, vips) == {"Bia Souza"}
    events = await query(
        runtime.db,
        "select count(*) as n from segment_members where contact_id = :id",
        id=bia,
    )
    assert events[0]["n"] == 1


async def test_a_rule_whose_filter_no_longer_compiles_is_skipped(
    client: httpx.AsyncClient, runtime: Runtime, factory: Factory
) -> None:
    tenant = await new_tenant(factory, client)
    await define(runtime.db, tenant.company_id, [("cidade", "Cidade", "text", [])])
    natal = await _segment(client, tenant, "Natal")
    site = await _segment(client, tenant, "Site")
    await _rule(
        client, tenant, natal, {"field": "custom.cidade", "operator": "equals", "value": "Natal"}
    )
    await _rule(client, tenant, site, FROM_SITE)
    async with runtime.db.service_session() as session:
        await session.execute(
            text("delete from contact_attributes where company_id = :c"), {"c": tenant.company_id}
        )
    await _create(client, tenant, name="Ana", phone="11987650001", source="site")
    assert await _members(client, tenant, site) == {"Ana"}
    assert await _members(client, tenant, natal) == set()


async def test_bulk_contacts_created_or_changed_join_skipped_ones_do_not(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    tenant = await new_tenant(factory, client)
    await _create(client, tenant, name="Antiga", phone="11987650009")
    vips = await _segment(client, tenant, "VIPs")
    await _rule(client, tenant, vips, VIP)
    headers = tenant.headers[Role.OPERATOR]
    contacts = [
        {"name": "Nova", "phone": "11987650010", "tags": ["vip"]},
        {"name": "Comum", "phone": "11987650011"},
        {"name": "Antiga", "phone": "11987650009", "tags": ["vip"]},  # exists: skipped
    ]
    skipped = await client.post("/api/contacts/bulk", json=contacts, headers=headers)
    assert [item["status"] for item in skipped.json()["items"]] == ["created", "created", "skipped"]
    assert await _members(client, tenant, vips) == {"Nova"}

    updated = await client.post(
        "/api/contacts/bulk",
        params={"existing_policy": "overwrite"},
        json=[contacts[2]],
        headers=headers,
    )
    assert updated.json()["items"][0]["status"] == "updated"
    assert await _members(client, tenant, vips) == {"Nova", "Antiga"}


async def test_an_import_fills_the_lists_at_its_end_with_one_statement_per_rule(
    client: httpx.AsyncClient,
    runtime: Runtime,
    factory: Factory,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(limits, "CHUNK_ROWS", 2)
    tenant = await new_tenant(factory, client)
    await _create(client, tenant, name="Já estava", phone="11987650020", source="site")
    site = await _segment(client, tenant, "Do site")
    vips = await _segment(client, tenant, "VIPs")
    await _rule(client, tenant, site, FROM_SITE)
    await _rule(client, tenant, vips, VIP)
    content = csv_bytes(
        [
            "nome,telefone,origem,etiquetas",
            "Ana,11987650021,site,vip",
            "Bia,11987650022,feira,vip",
            "Caio,11987650023,site,",
            "Dani,11987650024,feira,",
            "Já estava,11987650020,site,vip",  # exists and is skipped: not this import's
            "Erro,12,site,vip",
        ]
    )
    with _member_inserts(runtime) as inserts:
        job = await import_file(client, runtime, tenant, content)
    assert job["status"] == "completed"
    assert job["counts"] == {"created": 4, "updated": 0, "skipped": 1, "failed": 1, "warned": 0}
    assert len(inserts) == 2  # one per rule, for 6 rows in 3 chunks
    assert await _members(client, tenant, site) == {"Ana", "Caio"}
    assert await _members(client, tenant, vips) == {"Ana", "Bia"}

    again = await import_file(client, runtime, tenant, content)
    assert again["counts"]["skipped"] == 5
    assert await _members(client, tenant, site) == {"Ana", "Caio"}
