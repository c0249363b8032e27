"""One person, one contact: every phone format, and an import meeting WhatsApp traffic."""

from __future__ import annotations

import httpx

from tests.conftest import Factory, login
from tests.contacts.importing.conftest import (
    Tenant,
    contacts_of,
    csv_bytes,
    import_file,
    new_tenant,
    query,
)
from tests.evolution.harness import Instance, new_instance, post, text_message
from zapcrm.models import Role
from zapcrm.runtime import Runtime


async def test_every_human_format_of_one_number_is_one_contact(
    imports_api: httpx.AsyncClient, runtime: Runtime, factory: Factory
) -> None:
    tenant = await new_tenant(factory, imports_api, (Role.OPERATOR,))
    content = csv_bytes(
        [
            "nome,telefone",
            'Maria,"+55 (11) 98765-4321"',
            "Maria,011 98765 4321",
            "Maria,11987654321",
            "Maria,551187654321",
            "Maria,(11) 8765-4321",
            "Maria,+55 11 9 8765.4321",
            "Fixo,(11) 3456-7890",
            "Fixo,551134567890",
        ]
    )
    result = await import_file(imports_api, runtime, tenant, content)
    assert result["counts"] == {"created": 2, "updated": 0, "skipped": 6, "failed": 0, "warned": 0}
    contacts = await contacts_of(runtime.db, tenant.company_id)
    assert sorted(c["phone_e164"] for c in contacts) == ["+551134567890", "+5511987654321"]


async def _instance_tenant(
    imports_api: httpx.AsyncClient, runtime: Runtime, factory: Factory
) -> tuple[Tenant, Instance]:
    instance = await new_instance(runtime.db, factory)
    user = await factory.user(instance.company_id, Role.OPERATOR)
    tenant = Tenant(instance.company_id, {Role.OPERATOR: user})
    tenant.headers[Role.OPERATOR] = await login(imports_api, user)
    return tenant, instance


async def test_a_whatsapp_message_after_the_import_reaches_the_imported_contact(
    imports_api: httpx.AsyncClient, client: httpx.AsyncClient, runtime: Runtime, factory: Factory
) -> None:
    tenant, instance = await _instance_tenant(imports_api, runtime, factory)
    content = csv_bytes(["nome;celular", "Cliente Importado;(31) 8765-4321"])
    assert (await import_file(imports_api, runtime, tenant, content))["counts"]["created"] == 1
    (imported,) = await contacts_of(runtime.db, tenant.company_id)
    # WhatsApp ids of older accounts lack the ninth digit: the legacy JID must still match.
    body = text_message("IMPORTED1", remote_jid="553187654321@s.whatsapp.net", push_name="Zé")
    response = await post(client, instance.envelope(body))
    assert response.status_code == 200, response.text
    contacts = await contacts_of(runtime.db, tenant.company_id)
    assert [c["id"] for c in contacts] == [imported["id"]]
    assert contacts[0]["name"] == "Cliente Importado"  # a push name never overwrites it
    conversations = await query(
        runtime.db,
        "select contact_id from evolution_conversations where company_id = :c",
        c=tenant.company_id,
    )
    assert conversations == [{"contact_id": imported["id"]}]
    keys = await query(
        runtime.db,
        "select kind, value from contact_identities where contact_id = :id order by kind, value",
        id=imported["id"],
    )
    assert keys == [
        {"kind": "jid", "value": "553187654321@s.whatsapp.net"},
        {"kind": "phone", "value": "553187654321"},
        {"kind": "phone", "value": "5531987654321"},
    ]


async def test_an_import_after_whatsapp_traffic_fills_the_same_contact(
    imports_api: httpx.AsyncClient, client: httpx.AsyncClient, runtime: Runtime, factory: Factory
) -> None:
    tenant, instance = await _instance_tenant(imports_api, runtime, factory)
    body = text_message("FIRST1", remote_jid="5521987654321@s.whatsapp.net", push_name="Maria")
    assert (await post(client, instance.envelope(body))).status_code == 200
    (chatting,) = await contacts_of(runtime.db, tenant.company_id)
    content = csv_bytes(["nome,telefone,email", "Maria Souza,(21) 98765-4321,maria@exemplo.com"])
    result = await import_file(imports_api, runtime, tenant, content, policy="fill_empty")
    assert result["counts"] == {"created": 0, "updated": 1, "skipped": 0, "failed": 0, "warned": 0}
    (contact,) = await contacts_of(runtime.db, tenant.company_id)
    assert contact["id"] == chatting["id"]
    assert (contact["name"], contact["email"]) == ("Maria", "maria@exemplo.com")
