"""Funnel stages and custom attributes change after they are made: renamed, moved, a list's
options replaced; the key that contacts and saved filters hold stays."""

from __future__ import annotations

import httpx

from tests.conftest import Factory, login
from zapcrm.models import Role


async def _stages(client: httpx.AsyncClient, headers: dict[str, str]) -> list[tuple[str, str]]:
    listed = await client.get("/api/funnel-stages", headers=headers)
    assert listed.status_code == 200, listed.text
    return [(stage["key"], stage["label"]) for stage in listed.json()]


async def test_a_stage_is_renamed_and_moved_and_its_contacts_keep_it(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    company = await factory.company()
    admin = await login(client, await factory.user(company, Role.ADMIN))
    ids = {}
    for key, label in (("novo", "Novo"), ("proposta", "Proposta"), ("ganho", "Ganho")):
        created = await client.post(
            "/api/funnel-stages", json={"key": key, "label": label}, headers=admin
        )
        assert created.status_code == 201, created.text
        ids[key] = created.json()["id"]
    contact = await client.post(
        "/api/contacts", json={"name": "Dona Cida", "funnel_stage": "proposta"}, headers=admin
    )
    assert contact.status_code == 201, contact.text

    renamed = await client.patch(
        f"/api/funnel-stages/{ids['proposta']}",
        json={"label": "  Proposta   enviada "},
        headers=admin,
    )
    assert renamed.status_code == 200, renamed.text
    assert renamed.json()["label"] == "Proposta enviada"
    assert renamed.json()["key"] == "proposta"
    moved = await client.patch(
        f"/api/funnel-stages/{ids['ganho']}", json={"position": 0}, headers=admin
    )
    assert moved.status_code == 200, moved.text
    assert await _stages(client, admin) == [
        ("ganho", "Ganho"), ("novo", "Novo"), ("proposta", "Proposta enviada"),
    ]  # fmt: skip
    # Past the end means last.
    await client.patch(f"/api/funnel-stages/{ids['ganho']}", json={"position": 99}, headers=admin)
    assert [key for key, _ in await _stages(client, admin)] == ["novo", "proposta", "ganho"]
    kept = await client.get(f"/api/contacts/{contact.json()['id']}", headers=admin)
    assert kept.json()["funnel_stage"] == "proposta"


async def test_a_stage_rename_is_refused_when_the_name_is_taken_or_blank(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    company = await factory.company()
    admin = await login(client, await factory.user(company, Role.ADMIN))
    first = await client.post(
        "/api/funnel-stages", json={"key": "a", "label": "Lead"}, headers=admin
    )
    second = await client.post(
        "/api/funnel-stages", json={"key": "b", "label": "Cliente"}, headers=admin
    )
    url = f"/api/funnel-stages/{second.json()['id']}"
    taken = await client.patch(url, json={"label": "lead"}, headers=admin)
    assert taken.status_code == 409
    assert taken.json()["error"]["message"] == "já existe uma etapa chamada lead"
    for nothing in ("   ", ""):
        blank = await client.patch(url, json={"label": nothing}, headers=admin)
        assert blank.status_code == 422
        assert blank.json()["error"]["fields"] == [
            {"field": "label", "message": "dê um nome à etapa"}
        ]
    assert (await client.patch(url, json={"position": -1}, headers=admin)).status_code == 422
    assert (await client.patch(url, json={"key": "c"}, headers=admin)).status_code == 422
    # Its own name again (another case) is no conflict.
    same = await client.patch(
        f"/api/funnel-stages/{first.json()['id']}", json={"label": "LEAD"}, headers=admin
    )
    assert same.status_code == 200, same.text
    assert await _stages(client, admin) == [("a", "LEAD"), ("b", "Cliente")]


async def test_a_list_attribute_gets_new_options_and_a_text_one_cannot(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    company = await factory.company()
    admin = await login(client, await factory.user(company, Role.ADMIN))
    plan = await client.post(
        "/api/contact-attributes",
        json={"key": "plano", "label": "Plano", "type": "list", "options": ["básico"]},
        headers=admin,
    )
    note = await client.post(
        "/api/contact-attributes",
        json={"key": "bairro", "label": "Bairro", "type": "text"},
        headers=admin,
    )
    changed = await client.patch(
        f"/api/contact-attributes/{plan.json()['id']}",
        json={"label": "Plano contratado", "options": ["básico", " premium ", "premium", ""]},
        headers=admin,
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["label"] == "Plano contratado"
    assert changed.json()["options"] == ["básico", "premium"]
    assert changed.json()["type"] == "list"
    contact = await client.post(
        "/api/contacts",
        json={"name": "Seu Zé", "custom_fields": {"plano": "premium"}},
        headers=admin,
    )
    assert contact.status_code == 201, contact.text
    empty = await client.patch(
        f"/api/contact-attributes/{plan.json()['id']}", json={"options": [" "]}, headers=admin
    )
    assert empty.status_code == 422
    text_options = await client.patch(
        f"/api/contact-attributes/{note.json()['id']}", json={"options": ["x"]}, headers=admin
    )
    assert text_options.status_code == 422
    assert text_options.json()["error"]["fields"][0]["field"] == "options"
    moved = await client.patch(
        f"/api/contact-attributes/{note.json()['id']}", json={"position": 0}, headers=admin
    )
    assert moved.status_code == 200, moved.text
    listed = (await client.get("/api/contact-attributes", headers=admin)).json()
    assert [item["key"] for item in listed] == ["bairro", "plano"]


async def test_only_the_company_admins_change_definitions(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    company = await factory.company()
    admin = await login(client, await factory.user(company, Role.ADMIN))
    stage = await client.post("/api/funnel-stages", json={"key": "a", "label": "A"}, headers=admin)
    field = await client.post(
        "/api/contact-attributes",
        json={"key": "b", "label": "B", "type": "text"},
        headers=admin,
    )
    supervisor = await login(client, await factory.user(company, Role.SUPERVISOR))
    stranger = await login(client, await factory.user(await factory.company(), Role.ADMIN))
    for url in (
        f"/api/funnel-stages/{stage.json()['id']}",
        f"/api/contact-attributes/{field.json()['id']}",
    ):
        refused = await client.patch(url, json={"label": "Z"}, headers=supervisor)
        assert refused.status_code == 403
        hidden = await client.patch(url, json={"label": "Z"}, headers=stranger)
        assert hidden.status_code == 404
    assert await _stages(client, admin) == [("a", "A")]
