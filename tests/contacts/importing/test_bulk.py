"""`POST /api/contacts/bulk`: the import's rules, synchronously, with one result per item."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from tests.conftest import Factory
from tests.contacts.importing.conftest import contacts_of, define, new_tenant, query
from zapcrm.contacts.importing import limits
from zapcrm.models import Role
from zapcrm.runtime import Runtime

BULK = "/api/contacts/bulk"


async def test_bulk_creates_updates_skips_and_explains_failures(
    imports_api: httpx.AsyncClient, runtime: Runtime, factory: Factory
) -> None:
    tenant = await new_tenant(factory, imports_api, (Role.OPERATOR,))
    await define(runtime.db, tenant.company_id, attributes=[("pontos", "Pontos", "number", [])])
    headers = tenant.headers[Role.OPERATOR]
    items = [
        {"phone": "+55 (11) 98765-4321", "name": "Ana", "tags": ["vip"],
         "custom_fields": {"pontos": 10}},
        {"phone": "551187654321", "name": "Ana de novo", "email": "ana@x.com"},
        {"phone": "12", "name": "Curto"},
        {"name": "Sem telefone"},
        {"phone": "21987654321", "tags": "a;b", "custom_fields": {"pontos": "muitos"}},
        {"phone": "21987654321", "stage": "qualquer", "source": "crm-externo"},
    ]  # fmt: skip
    response = await imports_api.post(
        BULK, json=items, params={"existing_policy": "fill_empty"}, headers=headers
    )
    assert response.status_code == 200, response.text
    body = response.json()
    counts = ("created", "updated", "skipped", "failed", "warned")
    assert tuple(body[count] for count in counts) == (2, 2, 0, 2, 1)
    statuses = [(item["index"], item["status"]) for item in body["items"]]
    assert statuses == [
        (0, "created"),
        (1, "updated"),
        (2, "failed"),
        (3, "failed"),
        # Imported without the points that could not be read, then met again by number.
        (4, "created"),
        (5, "updated"),
    ]
    assert body["items"][2]["reason"].startswith("telefone inválido")
    assert body["items"][3]["reason"] == "telefone ausente"
    assert body["items"][4]["reason"] is None
    [warning] = body["items"][4]["warnings"]
    assert warning.startswith("Pontos: número inválido")
    assert [item["warnings"] for item in body["items"] if item["index"] != 4] == [[]] * 5
    assert body["items"][0]["contact_id"] == body["items"][1]["contact_id"]
    contacts = await contacts_of(runtime.db, tenant.company_id)
    assert [(c["name"], c["email"], c["source"]) for c in contacts] == [
        ("Ana", "ana@x.com", "api"),
        ("", None, "api"),
    ]
    assert contacts[0]["custom_fields"] == {"pontos": 10}
    assert (contacts[1]["tags"], contacts[1]["custom_fields"]) == (["a", "b"], {})
    events = await query(
        runtime.db,
        "select kind, actor_id, details->>'via' as via from contact_events"
        " where company_id = :c order by id",
        c=tenant.company_id,
    )
    user_id = tenant.users[Role.OPERATOR].id
    assert events == [
        {"kind": "import.created", "actor_id": user_id, "via": "api"},
        {"kind": "import.created", "actor_id": user_id, "via": "api"},
        {"kind": "import.updated", "actor_id": user_id, "via": "api"},
        {"kind": "import.updated", "actor_id": user_id, "via": "api"},
    ]
    again = (await imports_api.post(BULK, json=items[:2], headers=headers)).json()
    assert [item["status"] for item in again["items"]] == ["skipped", "skipped"]


async def test_any_text_survives_the_staging_copy(
    imports_api: httpx.AsyncClient, runtime: Runtime, factory: Factory
) -> None:
    tenant = await new_tenant(factory, imports_api, (Role.OPERATOR,))
    await define(runtime.db, tenant.company_id, attributes=[("nota", "Nota", "text", [])])
    name = 'Zé \\N "aspas" {chaves} \\t tab\tfim'
    tags = ["a\\b", 'c"d', "{e}", "NULL", "f g", "\\N", "ção"]
    response = await imports_api.post(
        BULK,
        json=[
            {
                "phone": "11987654321",
                "name": name,
                "source": "\\",
                "tags": tags,
                "custom_fields": {"nota": 'linha\\n {"json": true}\tx'},
            }
        ],
        headers=tenant.headers[Role.OPERATOR],
    )
    assert response.status_code == 200, response.text
    (contact,) = await contacts_of(runtime.db, tenant.company_id)
    # Whitespace runs (the tab) collapse to one space, as in every imported text field.
    assert contact["name"] == 'Zé \\N "aspas" {chaves} \\t tab fim'
    assert contact["source"] == "\\"
    assert contact["tags"] == tags
    assert contact["custom_fields"] == {"nota": 'linha\\n {"json": true}\tx'}


async def test_bulk_limits(
    imports_api: httpx.AsyncClient,
    runtime: Runtime,
    factory: Factory,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    tenant = await new_tenant(factory, imports_api, (Role.OPERATOR,))
    headers = tenant.headers[Role.OPERATOR]
    assert (await imports_api.post(BULK, json=[], headers=headers)).status_code == 422
    assert (await imports_api.post(BULK, json={"phone": "1"}, headers=headers)).status_code == 422
    unknown_field = await imports_api.post(BULK, json=[{"telefone": "1"}], headers=headers)
    assert unknown_field.status_code == 422
    monkeypatch.setattr(limits, "BULK_MAX_CONTACTS", 2)
    too_many = await imports_api.post(BULK, json=[{"phone": "11987654321"}] * 3, headers=headers)
    assert too_many.status_code == 422
    assert "no máximo 2" in too_many.json()["error"]["message"]
    assert await contacts_of(runtime.db, tenant.company_id) == []


async def test_concurrent_requests_for_the_same_people_make_one_contact_each(
    imports_api: httpx.AsyncClient, runtime: Runtime, factory: Factory
) -> None:
    tenant = await new_tenant(factory, imports_api, (Role.OPERATOR, Role.SUPERVISOR))
    people = [{"phone": f"11 9{8000_0000 + index}", "name": f"P{index}"} for index in range(60)]
    responses = await asyncio.gather(
        *(
            imports_api.post(BULK, json=people[::step], headers=tenant.headers[role])
            for step, role in ((1, Role.OPERATOR), (-1, Role.SUPERVISOR), (1, Role.SUPERVISOR))
        )
    )
    bodies = [response.json() for response in responses]
    assert all(response.status_code == 200 for response in responses), bodies
    assert sum(body["created"] for body in bodies) == 60
    assert sum(body["skipped"] for body in bodies) == 120
    contacts = await contacts_of(runtime.db, tenant.company_id)
    assert len(contacts) == 60
    keys = await query(
        runtime.db,
        "select count(*) as n from contact_identities where company_id = :c",
        c=tenant.company_id,
    )
    assert keys == [{"n": 120}]
