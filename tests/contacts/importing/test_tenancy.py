"""Row-level security on imports: own jobs for operators, the company's for supervisors, and
nothing crossing companies (jobs, contacts, keys)."""

from __future__ import annotations

import httpx

from tests.conftest import Factory
from tests.contacts.importing.conftest import (
    UPLOAD_ROUTE,
    contacts_of,
    csv_bytes,
    import_file,
    new_tenant,
    query,
    upload,
)
from zapcrm.models import Role
from zapcrm.runtime import Runtime

FILE = csv_bytes(["nome,telefone", "Ana,11987654321", "Erro,12"])


async def test_jobs_are_visible_to_their_owner_and_supervisors_only(
    imports_api: httpx.AsyncClient, runtime: Runtime, factory: Factory
) -> None:
    tenant = await new_tenant(factory, imports_api)
    colleague = await factory.user(tenant.company_id, Role.OPERATOR)
    from tests.conftest import login

    colleague_headers = await login(imports_api, colleague)
    other = await new_tenant(factory, imports_api, (Role.ADMIN,))
    job = await import_file(imports_api, runtime, tenant, FILE)
    url = f"{UPLOAD_ROUTE}/{job['id']}"
    supervisor = tenant.headers[Role.SUPERVISOR]
    assert (await imports_api.get(url, headers=supervisor)).status_code == 200
    assert (await imports_api.get(f"{url}/failed.csv", headers=supervisor)).status_code == 200
    for headers in (colleague_headers, other.headers[Role.ADMIN]):
        assert (await imports_api.get(url, headers=headers)).status_code == 404
        assert (await imports_api.get(f"{url}/failed.csv", headers=headers)).status_code == 404
        assert (await imports_api.post(f"{url}/cancel", headers=headers)).status_code == 404
        listed = (await imports_api.get(UPLOAD_ROUTE, headers=headers)).json()["items"]
        assert job["id"] not in [item["id"] for item in listed]
    pending = (await upload(imports_api, tenant.headers[Role.OPERATOR], FILE)).json()
    stolen = await imports_api.post(
        f"{UPLOAD_ROUTE}/{pending['id']}/start",
        json={"mapping": {"telefone": "phone"}},
        headers=other.headers[Role.ADMIN],
    )
    assert stolen.status_code == 404
    own = (await imports_api.get(UPLOAD_ROUTE, headers=tenant.headers[Role.OPERATOR])).json()
    assert {item["id"] for item in own["items"]} == {job["id"], pending["id"]}


async def test_the_same_phone_in_two_companies_is_two_contacts(
    imports_api: httpx.AsyncClient, runtime: Runtime, factory: Factory
) -> None:
    first = await new_tenant(factory, imports_api, (Role.OPERATOR,))
    second = await new_tenant(factory, imports_api, (Role.OPERATOR,))
    await import_file(
        imports_api, runtime, first, csv_bytes(["nome,telefone", "Ana da Primeira,11987654321"])
    )
    result = await import_file(
        imports_api,
        runtime,
        second,
        csv_bytes(["nome,telefone", "Ana da Segunda,(11) 98765-4321"]),
        policy="overwrite",
    )
    assert result["counts"]["created"] == 1
    (ana_first,) = await contacts_of(runtime.db, first.company_id)
    (ana_second,) = await contacts_of(runtime.db, second.company_id)
    assert ana_first["name"] == "Ana da Primeira"
    assert ana_second["name"] == "Ana da Segunda"
    crossing = await query(
        runtime.db,
        "select count(*) as n from contact_identities i join contacts c on c.id = i.contact_id"
        " where i.company_id <> c.company_id",
    )
    assert crossing == [{"n": 0}]
    events = await query(
        runtime.db,
        "select count(*) as n from contact_events e join contacts c on c.id = e.contact_id"
        " where e.company_id <> c.company_id",
    )
    assert events == [{"n": 0}]
