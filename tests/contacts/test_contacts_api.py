"""Contacts API: create with identity keys, edit with a timeline, merge, duplicates, definitions."""

from __future__ import annotations

import httpx
from sqlalchemy import text

from tests.conftest import Factory, login
from tests.evolution.harness import new_instance, post, rows, text_message
from zapcrm.db import Database
from zapcrm.models import Role


async def _admin_headers(
    client: httpx.AsyncClient, factory: Factory
) -> tuple[dict[str, str], object]:
    company = await factory.company()
    return await login(client, await factory.user(company, Role.ADMIN)), company


async def test_create_canonicalises_the_phone_and_refuses_a_second_owner(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    headers, _ = await _admin_headers(client, factory)
    created = await client.post(
        "/api/contacts",
        json={"name": "Maria", "phone": "+55 (31) 8765-4321", "tags": ["VIP", "vip", " Novo "]},
        headers=headers,
    )
    assert created.status_code == 201, created.text
    body = created.json()
    # A Belo Horizonte mobile typed the old way gains its ninth digit.
    assert body["phone_e164"] == "+5531987654321"
    assert body["tags"] == ["VIP", "Novo"]
    again = await client.post(
        "/api/contacts", json={"name": "Outra", "phone": "5531987654321"}, headers=headers
    )
    assert again.status_code == 409
    assert again.json()["error"]["contact_id"] == body["id"]
    detail = (await client.get(f"/api/contacts/{body['id']}", headers=headers)).json()
    assert {item["value"] for item in detail["identities"]} == {"5531987654321", "553187654321"}


async def test_invalid_fields_get_field_errors(client: httpx.AsyncClient, factory: Factory) -> None:
    headers, _ = await _admin_headers(client, factory)
    response = await client.post(
        "/api/contacts",
        json={"name": "X", "phone": "12", "custom_fields": {"nao_existe": 1}},
        headers=headers,
    )
    assert response.status_code == 422
    assert response.json()["error"]["fields"][0]["field"] == "phone"
    unknown_attribute = await client.post(
        "/api/contacts", json={"name": "X", "custom_fields": {"nao_existe": 1}}, headers=headers
    )
    assert unknown_attribute.status_code == 422
    assert unknown_attribute.json()["error"]["fields"][0]["field"] == "custom_fields.nao_existe"


async def test_typed_attributes_stages_and_a_recorded_update(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    headers, _ = await _admin_headers(client, factory)
    for attribute in (
        {"key": "aniversario", "label": "Aniversário", "type": "date"},
        {"key": "gasto", "label": "Gasto total", "type": "number"},
        {"key": "plano", "label": "Plano", "type": "list", "options": ["básico", "premium"]},
    ):
        assert (
            await client.post("/api/contact-attributes", json=attribute, headers=headers)
        ).status_code == 201
    assert (
        await client.post(
            "/api/funnel-stages", json={"key": "lead", "label": "Lead"}, headers=headers
        )
    ).status_code == 201
    contact = (
        await client.post(
            "/api/contacts",
            json={
                "name": "João",
                "custom_fields": {"aniversario": "31/12/1990", "gasto": "1.234,50"},
            },
            headers=headers,
        )
    ).json()
    assert contact["custom_fields"] == {"aniversario": "1990-12-31", "gasto": 1234.5}
    bad_stage = await client.patch(
        f"/api/contacts/{contact['id']}", json={"funnel_stage": "cliente"}, headers=headers
    )
    assert bad_stage.status_code == 422
    updated = await client.patch(
        f"/api/contacts/{contact['id']}",
        json={"funnel_stage": "lead", "custom_fields": {"plano": "premium", "gasto": None}},
        headers=headers,
    )
    assert updated.status_code == 200, updated.text
    assert updated.json()["custom_fields"] == {"aniversario": "1990-12-31", "plano": "premium"}
    history = (await client.get(f"/api/contacts/{contact['id']}/history", headers=headers)).json()
    kinds = [item["kind"] for item in history["items"]]
    assert kinds == ["contact.updated", "contact.created"]
    assert history["items"][0]["details"]["changes"]["funnel_stage"] == {"from": None, "to": "lead"}


async def test_merge_moves_chats_and_history_and_is_audited(
    client: httpx.AsyncClient, db: Database, factory: Factory
) -> None:
    instance = await new_instance(db, factory)
    headers = await login(client, await factory.user(instance.company_id, Role.SUPERVISOR))
    # WhatsApp created one contact (from a chat); a person typed another for the same human.
    await post(
        client, instance.envelope(text_message("MRG1", remote_jid="5511912340000@s.whatsapp.net"))
    )
    whatsapp = (
        await rows(db, "select id from contacts where company_id = :c", c=instance.company_id)
    )[0]["id"]
    typed = (
        await client.post(
            "/api/contacts",
            json={"name": "Maria Souza", "email": "maria@exemplo.com.br", "tags": ["cliente"]},
            headers=headers,
        )
    ).json()
    merged = await client.post(
        f"/api/contacts/{typed['id']}/merge", json={"other_id": str(whatsapp)}, headers=headers
    )
    assert merged.status_code == 200, merged.text
    body = merged.json()
    assert (body["phone_e164"], body["email"], body["tags"]) == (
        "+5511912340000", "maria@exemplo.com.br", ["cliente"],
    )  # fmt: skip
    assert (await client.get(f"/api/contacts/{whatsapp}", headers=headers)).status_code == 404
    conversations = await rows(
        db, "select contact_id from evolution_conversations where instance_id = :i",
        i=instance.instance_id,
    )  # fmt: skip
    assert (
        conversations == [{"contact_id": typed["id"]}]
        or str(conversations[0]["contact_id"]) == typed["id"]
    )
    history = (await client.get(f"/api/contacts/{typed['id']}/history", headers=headers)).json()
    assert {item["kind"] for item in history["items"]} >= {"message", "contact.merged"}
    audit = await rows(
        db, "select action from audit_log where company_id = :c and action = 'contact.merged'",
        c=instance.company_id,
    )  # fmt: skip
    assert len(audit) == 1
    # A new message from the same number lands on the kept contact.
    await post(
        client, instance.envelope(text_message("MRG2", remote_jid="5511912340000@s.whatsapp.net"))
    )
    count = await rows(
        db, "select count(*) as n from contacts where company_id = :c", c=instance.company_id
    )
    assert count == [{"n": 1}]


async def test_duplicate_suggestions(client: httpx.AsyncClient, factory: Factory) -> None:
    headers, _ = await _admin_headers(client, factory)
    for payload in (
        {"name": "Ana Paula Lima", "phone": "11987650001", "email": "ana@x.com.br"},
        {"name": "Ana Paula Lima", "phone": "21987650001"},
        {"name": "Beto", "email": "ANA@x.com.br"},
        {"name": "Carlos", "phone": "11911112222"},
    ):
        assert (
            await client.post("/api/contacts", json=payload, headers=headers)
        ).status_code == 201
    pairs = (await client.get("/api/contacts/duplicates", headers=headers)).json()
    reasons = sorted(pair["reason"] for pair in pairs)
    assert reasons == ["same_email", "same_name_and_phone_end"]


async def test_history_pages_with_a_cursor(client: httpx.AsyncClient, factory: Factory) -> None:
    headers, _ = await _admin_headers(client, factory)
    contact = (await client.post("/api/contacts", json={"name": "Z"}, headers=headers)).json()
    for index in range(4):
        await client.patch(
            f"/api/contacts/{contact['id']}", json={"name": f"Z{index}"}, headers=headers
        )
    url = f"/api/contacts/{contact['id']}/history"
    first = (await client.get(url, params={"limit": 3}, headers=headers)).json()
    second = (
        await client.get(url, params={"limit": 3, "cursor": first["next_cursor"]}, headers=headers)
    ).json()
    assert len(first["items"]) == 3
    assert len(second["items"]) == 2
    assert second["next_cursor"] is None
    assert (await client.get(url, params={"cursor": "x"}, headers=headers)).status_code == 400


async def test_roles_and_companies(client: httpx.AsyncClient, factory: Factory) -> None:
    company = await factory.company()
    operator = await login(client, await factory.user(company, Role.OPERATOR))
    mine = (await client.post("/api/contacts", json={"name": "Meu"}, headers=operator)).json()
    assert (await client.delete(f"/api/contacts/{mine['id']}", headers=operator)).status_code == 403
    assert (
        await client.post("/api/funnel-stages", json={"key": "x", "label": "X"}, headers=operator)
    ).status_code == 403
    assert (await client.get("/api/contacts/duplicates", headers=operator)).status_code == 403
    stranger, _ = await _admin_headers(client, factory)
    for method, url in (
        ("GET", f"/api/contacts/{mine['id']}"),
        ("PATCH", f"/api/contacts/{mine['id']}"),
        ("GET", f"/api/contacts/{mine['id']}/history"),
        ("DELETE", f"/api/contacts/{mine['id']}"),
    ):
        response = await client.request(
            method, url, json={} if method == "PATCH" else None, headers=stranger
        )
        assert response.status_code == 404, (method, url, response.text)
    other = (await client.post("/api/contacts", json={"name": "Dele"}, headers=stranger)).json()
    refused = await client.post(
        f"/api/contacts/{mine['id']}/merge", json={"other_id": other["id"]}, headers=operator
    )
    assert refused.status_code == 403  # merging moves chats an operator cannot see
    crossed = await client.post(
        f"/api/contacts/{other['id']}/merge", json={"other_id": mine["id"]}, headers=stranger
    )
    assert crossed.status_code == 404


async def test_typed_phones_follow_the_company_default_country(
    client: httpx.AsyncClient, factory: Factory, db: Database
) -> None:
    headers, company = await _admin_headers(client, factory)
    brazilian = await client.post("/api/contacts", json={"phone": "11 98765-4321"}, headers=headers)
    assert brazilian.json()["phone_e164"] == "+5511987654321"
    async with db.service_session() as session:
        await session.execute(
            text("update companies set default_region = 'PT' where id = :c"), {"c": company}
        )
    portuguese = await client.post("/api/contacts", json={"phone": "912 345 678"}, headers=headers)
    assert portuguese.status_code == 201, portuguese.text
    assert portuguese.json()["phone_e164"] == "+351912345678"
    moved = await client.patch(
        f"/api/contacts/{portuguese.json()['id']}", json={"phone": "961 234 567"}, headers=headers
    )
    assert moved.json()["phone_e164"] == "+351961234567"


async def test_history_shows_a_picture_as_the_inbox_does_not_as_its_raw_type(
    client: httpx.AsyncClient, db: Database, factory: Factory
) -> None:
    instance = await new_instance(db, factory)
    jid = "5511987650777@s.whatsapp.net"
    photo = text_message("HISTIMG1", remote_jid=jid, timestamp=1763326000)
    photo["data"]["message"] = {"imageMessage": {"mimetype": "image/jpeg"}}
    photo["data"]["messageType"] = "imageMessage"
    words = text_message("HISTTXT1", remote_jid=jid, text_body="segue a foto", timestamp=1763326100)
    for body in (photo, words):
        assert (await post(client, instance.envelope(body))).status_code == 200
    [contact] = await rows(
        db, "select contact_id from evolution_conversations where remote_jid = :j", j=jid
    )
    headers = await login(client, await factory.user(instance.company_id, Role.SUPERVISOR))
    history = await client.get(f"/api/contacts/{contact['contact_id']}/history", headers=headers)
    messages = [item for item in history.json()["items"] if item["kind"] == "message"]
    assert [(item["text"], item["details"]["type"]) for item in messages] == [
        ("segue a foto", "text"),
        ("📷 Foto", "image"),
    ]


async def test_a_phone_problem_is_said_in_portuguese(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    headers, _ = await _admin_headers(client, factory)
    for phone, problem in (("123", "curto demais"), ("abc-def", "contém letras")):
        response = await client.post(
            "/api/contacts", json={"name": "X", "phone": phone}, headers=headers
        )
        assert response.status_code == 422
        error = response.json()["error"]
        assert error["message"] == "telefone inválido"
        assert error["fields"] == [{"field": "phone", "message": problem}]


async def test_a_contact_needs_a_name_a_phone_or_an_email(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    headers, _ = await _admin_headers(client, factory)
    for body in ({}, {"name": "  ", "tags": ["vip"], "source": "site"}):
        blank = await client.post("/api/contacts", json=body, headers=headers)
        assert blank.status_code == 422, blank.text
        error = blank.json()["error"]
        assert error["code"] == "validation_failed"
        assert error["message"] == "o contato precisa de um nome, telefone ou e-mail"
        assert error["fields"] == [
            {"field": "name", "message": "informe o nome, o telefone ou o e-mail"}
        ]
    for enough in ({"name": "Só nome"}, {"phone": "11987650555"}, {"email": "so@email.com"}):
        made = await client.post("/api/contacts", json=enough, headers=headers)
        assert made.status_code == 201, made.text
