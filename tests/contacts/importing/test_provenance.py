"""What an import job records of the contacts it creates: the job and the file's row on the
contact itself (no timeline event per contact), shown on the contact's timeline as the
"import.created" entry it always was, and kept through a merge."""

from __future__ import annotations

from datetime import datetime

import httpx

from tests.conftest import Factory
from tests.contacts.importing.conftest import csv_bytes, import_file, new_tenant, query
from zapcrm.models import Role
from zapcrm.runtime import Runtime

MAPPING = {"nome": "name", "telefone": "phone", "email": "email"}


async def _history(
    client: httpx.AsyncClient, headers: dict[str, str], contact_id: object
) -> list[dict[str, object]]:
    response = await client.get(f"/api/contacts/{contact_id}/history", headers=headers)
    assert response.status_code == 200, response.text
    items: list[dict[str, object]] = response.json()["items"]
    return items


async def test_created_contacts_name_their_job_and_row_and_their_timeline_shows_the_import(
    imports_api: httpx.AsyncClient, runtime: Runtime, factory: Factory
) -> None:
    tenant = await new_tenant(factory, imports_api, (Role.OPERATOR,))
    headers = tenant.headers[Role.OPERATOR]
    # Ana's second row, in another format, meets the contact her first row created, in the
    # same transaction: both entries of her timeline have the same time.
    content = csv_bytes(
        [
            "nome,telefone,email",
            "Ana,11987650031,",
            "Bia,11987650032,",
            "Ana,(11) 98765-0031,a@x.com",
        ]
    )
    job = await import_file(imports_api, runtime, tenant, content, MAPPING, policy="fill_empty")
    assert job["counts"] == {"created": 2, "updated": 1, "skipped": 0, "failed": 0, "warned": 0}

    contacts = await query(
        runtime.db,
        "select id, name, import_job_id, import_row, created_at from contacts"
        " where company_id = :c order by import_row",
        c=tenant.company_id,
    )
    assert [(c["name"], str(c["import_job_id"]), c["import_row"]) for c in contacts] == [
        ("Ana", job["id"], 1),
        ("Bia", job["id"], 2),
    ]
    logged = await query(
        runtime.db,
        "select kind, details ->> 'row' as row from contact_events where company_id = :c",
        c=tenant.company_id,
    )
    assert logged == [{"kind": "import.updated", "row": "3"}]

    ana, bia = contacts
    timeline = await _history(imports_api, headers, ana["id"])
    # Newest first: the update by row 3, then the creation by row 1 it followed.
    assert [(item["kind"], item["details"]) for item in timeline] == [
        (
            "import.updated",
            {
                "job_id": job["id"],
                "row": 3,
                "changes": {"email": {"from": None, "to": "a@x.com"}},
            },
        ),
        ("import.created", {"job_id": job["id"], "row": 1}),
    ]
    assert {datetime.fromisoformat(str(item["at"])) for item in timeline} == {ana["created_at"]}
    (created,) = await _history(imports_api, headers, bia["id"])
    assert (created["kind"], created["details"]) == (
        "import.created",
        {"job_id": job["id"], "row": 2},
    )


async def test_a_merge_keeps_the_import_entry_of_the_contact_it_folds_away(
    imports_api: httpx.AsyncClient, runtime: Runtime, factory: Factory
) -> None:
    tenant = await new_tenant(factory, imports_api, (Role.OPERATOR, Role.SUPERVISOR))
    headers = tenant.headers[Role.SUPERVISOR]
    job = await import_file(
        imports_api,
        runtime,
        tenant,
        csv_bytes(["nome,telefone", "Ana,11987650041"]),
        {"nome": "name", "telefone": "phone"},
    )
    (imported,) = await query(
        runtime.db,
        "select id, created_at from contacts where company_id = :c",
        c=tenant.company_id,
    )
    typed = await imports_api.post(
        "/api/contacts", json={"name": "Ana Souza", "email": "ana@x.com"}, headers=headers
    )
    assert typed.status_code == 201, typed.text
    kept = typed.json()["id"]
    merged = await imports_api.post(
        f"/api/contacts/{kept}/merge", json={"other_id": str(imported["id"])}, headers=headers
    )
    assert merged.status_code == 200, merged.text

    timeline = await _history(imports_api, headers, kept)
    entries = [item for item in timeline if item["kind"] == "import.created"]
    assert [item["details"] for item in entries] == [{"job_id": job["id"], "row": 1}]
    assert datetime.fromisoformat(str(entries[0]["at"])) == imported["created_at"]
    # By the one who ran the import, as the entry was before the merge.
    actors = await query(
        runtime.db,
        "select actor_id from contact_events where contact_id = :id and kind = 'import.created'",
        id=kept,
    )
    assert actors == [{"actor_id": tenant.users[Role.OPERATOR].id}]
