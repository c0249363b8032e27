"""Existing contacts under skip / fill_empty / overwrite, duplicates in a file, and re-imports."""

from __future__ import annotations

import httpx
import pytest

from tests.conftest import Factory
from tests.contacts.importing.conftest import (
    Tenant,
    contacts_of,
    csv_bytes,
    define,
    import_file,
    new_tenant,
    query,
)
from zapcrm.contacts.importing import limits
from zapcrm.models import Role
from zapcrm.runtime import Runtime

HEADER = "nome;telefone;email;etiquetas;origem;etapa;cidade"
MAPPING = {
    "nome": "name",
    "telefone": "phone",
    "email": "email",
    "etiquetas": "tags",
    "origem": "source",
    "etapa": "stage",
    "cidade": "custom.cidade",
}


async def _tenant(imports_api: httpx.AsyncClient, runtime: Runtime, factory: Factory) -> Tenant:
    tenant = await new_tenant(factory, imports_api, (Role.OPERATOR,))
    await define(
        runtime.db,
        tenant.company_id,
        attributes=[("cidade", "Cidade", "text", [])],
        stages=[("lead", "Lead"), ("cliente", "Cliente")],
    )
    return tenant


async def _events(runtime: Runtime, tenant: Tenant) -> list[dict[str, object]]:
    return await query(
        runtime.db,
        "select kind, details from contact_events where company_id = :c order by id",
        c=tenant.company_id,
    )


@pytest.mark.parametrize(
    ("policy", "counts", "expected"),
    [
        (
            "skip",
            {"created": 0, "updated": 0, "skipped": 2, "failed": 0, "warned": 0},
            ("Ana", None, ["vip"], "import", "lead", {}),
        ),
        (
            "fill_empty",
            {"created": 0, "updated": 1, "skipped": 1, "failed": 0, "warned": 0},
            ("Ana", "ana@exemplo.com", ["vip", "novo"], "import", "lead", {"cidade": "Recife"}),
        ),
        (
            "overwrite",
            {"created": 0, "updated": 1, "skipped": 1, "failed": 0, "warned": 0},
            ("Ana Souza", "ana@exemplo.com", ["vip", "novo"], "feira", "cliente",
             {"cidade": "Recife"}),
        ),
    ],
)  # fmt: skip
async def test_policy_decides_what_happens_to_an_existing_contact(
    imports_api: httpx.AsyncClient,
    runtime: Runtime,
    factory: Factory,
    policy: str,
    counts: dict[str, int],
    expected: tuple[object, ...],
) -> None:
    tenant = await _tenant(imports_api, runtime, factory)
    first = csv_bytes([HEADER, "Ana;11987654321;;vip;;lead;", "Bruno;21987654321;b@x.com;;;;"])
    created = await import_file(imports_api, runtime, tenant, first, MAPPING)
    assert created["counts"]["created"] == 2
    # Same people in other formats; Bruno's row brings nothing new, and an empty cell never
    # erases (his e-mail stays under overwrite).
    second = csv_bytes(
        [
            HEADER,
            "Ana Souza;+55 (11) 98765-4321;ana@exemplo.com;novo;feira;Cliente;Recife",
            ";(21) 8765-4321;;;;;",
        ]
    )
    result = await import_file(imports_api, runtime, tenant, second, MAPPING, policy=policy)
    assert result["counts"] == counts
    ana, bruno = await contacts_of(runtime.db, tenant.company_id)
    fields = ("name", "email", "tags", "source", "funnel_stage", "custom_fields")
    assert tuple(ana[field] for field in fields) == expected
    assert (bruno["name"], bruno["email"]) == ("Bruno", "b@x.com")
    events = await _events(runtime, tenant)
    updates = [event for event in events if event["kind"] == "import.updated"]
    assert len(updates) == counts["updated"]
    if policy == "fill_empty":
        changes = updates[0]["details"]["changes"]  # type: ignore[index]
        assert changes == {
            "email": {"from": None, "to": "ana@exemplo.com"},
            "tags": {"from": ["vip"], "to": ["vip", "novo"]},
            "custom_fields": {"from": {}, "to": {"cidade": "Recife"}},
        }
        assert updates[0]["details"]["job_id"] == result["id"]  # type: ignore[index]

    again = await import_file(imports_api, runtime, tenant, second, MAPPING, policy=policy)
    assert again["counts"] == {"created": 0, "updated": 0, "skipped": 2, "failed": 0, "warned": 0}
    assert await _events(runtime, tenant) == events


@pytest.mark.parametrize("chunk_rows", [1, 2, 1000])
@pytest.mark.parametrize(
    ("policy", "counts", "expected"),
    [
        ("skip", (1, 0, 2), ("Bia", None, ["a"])),
        ("fill_empty", (1, 2, 0), ("Bia", "bia@exemplo.com", ["a", "b", "c"])),
        ("overwrite", (1, 2, 0), ("Bia Lima", "bia@novo.com", ["a", "b", "c"])),
    ],
)
async def test_duplicates_in_one_file_meet_the_first_row_like_an_existing_contact(
    imports_api: httpx.AsyncClient,
    runtime: Runtime,
    factory: Factory,
    monkeypatch: pytest.MonkeyPatch,
    chunk_rows: int,
    policy: str,
    counts: tuple[int, int, int],
    expected: tuple[object, ...],
) -> None:
    monkeypatch.setattr(limits, "CHUNK_ROWS", chunk_rows)
    tenant = await _tenant(imports_api, runtime, factory)
    content = csv_bytes(
        [
            HEADER,
            "Bia;21987654321;;a;;;",
            "Bia Lima;(21) 98765-4321;bia@exemplo.com;b;;;",
            "Bia Lima;552187654321;bia@novo.com;c;;;",
        ]
    )
    result = await import_file(imports_api, runtime, tenant, content, MAPPING, policy=policy)
    created, updated, skipped = counts
    assert result["counts"] == {
        "created": created,
        "updated": updated,
        "skipped": skipped,
        "failed": 0,
        "warned": 0,
    }
    (bia,) = await contacts_of(runtime.db, tenant.company_id)
    assert (bia["name"], bia["email"], bia["tags"]) == expected


@pytest.mark.parametrize("policy", ["skip", "fill_empty", "overwrite"])
async def test_reimporting_the_same_file_changes_nothing(
    imports_api: httpx.AsyncClient, runtime: Runtime, factory: Factory, policy: str
) -> None:
    tenant = await _tenant(imports_api, runtime, factory)
    content = csv_bytes(
        [
            HEADER,
            "Ana;11987654321;ana@x.com;vip;site;lead;Natal",
            "Ana;(11) 98765-4321;ana@x.com;vip;site;lead;Natal",  # the same person again
            "Caio;(31) 3456-7890;;;;;",
            "Inválido;123;;;;;",
            "Dora;+55 48 99123-4567;;x|y;;cliente;",
        ]
    )
    first = await import_file(imports_api, runtime, tenant, content, MAPPING, policy=policy)
    assert first["counts"]["created"] == 3
    assert first["counts"]["failed"] == 1
    before = await contacts_of(runtime.db, tenant.company_id)
    events = await _events(runtime, tenant)
    second = await import_file(imports_api, runtime, tenant, content, MAPPING, policy=policy)
    assert second["counts"] == {"created": 0, "updated": 0, "skipped": 4, "failed": 1, "warned": 0}
    assert await contacts_of(runtime.db, tenant.company_id) == before
    assert await _events(runtime, tenant) == events
    keys = await query(
        runtime.db,
        "select count(*) as n from contact_identities where company_id = :c",
        c=tenant.company_id,
    )
    assert keys == [{"n": 5}]  # two mobiles with two forms each, one landline
