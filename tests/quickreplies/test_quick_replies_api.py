"""Quick replies API: curate (supervisors and admins), list and search (everyone), render for a
conversation's contact and the caller, and the tenancy and role rules around them."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
from sqlalchemy import text

from tests.conftest import Factory, login
from tests.evolution.harness import new_instance, post, rows, text_message
from zapcrm.db import Database
from zapcrm.models import Role

URL = "/api/quick-replies"


async def _create(
    client: httpx.AsyncClient, headers: dict[str, str], **fields: str
) -> dict[str, Any]:
    body = {
        "shortcut": "/frete",
        "title": "Frete",
        "body": "Frete grátis acima de R$ 100.",
        **fields,
    }
    response = await client.post(URL, json=body, headers=headers)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


async def test_supervisor_creates_lists_searches_edits_and_deletes(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    company_id = await factory.company()
    supervisor = await factory.user(company_id, Role.SUPERVISOR)
    headers = await login(client, supervisor)
    frete = await _create(client, headers, shortcut="frete")  # the slash is added
    assert frete["shortcut"] == "/frete"
    assert frete["created_by"] == str(supervisor.id)
    await _create(client, headers, shortcut="/horario", title="Horário de atendimento", body="x")
    await _create(client, headers, shortcut="/pix", title="Chave PIX 100%", body="y")

    async def shortcuts(**params: str) -> list[str]:
        response = await client.get(URL, params=params, headers=headers)
        assert response.status_code == 200, response.text
        return [item["shortcut"] for item in response.json()]

    assert await shortcuts() == ["/frete", "/horario", "/pix"]
    assert await shortcuts(q="FRE") == ["/frete"]
    assert await shortcuts(q="/hor") == ["/horario"]
    assert await shortcuts(q="horario de ATENDIMENTO") == ["/horario"]  # accents and case
    assert await shortcuts(q="100%") == ["/pix"]
    assert await shortcuts(q="%") == ["/pix"]  # a typed % is text, not "match anything"
    assert await shortcuts(q="   ") == ["/frete", "/horario", "/pix"]
    assert await shortcuts(q="nada") == []

    item = f"{URL}/{frete['id']}"
    patched = await client.patch(item, json={"title": "Frete e entrega"}, headers=headers)
    assert patched.status_code == 200, patched.text
    assert patched.json()["title"] == "Frete e entrega"
    assert patched.json()["body"] == frete["body"]  # untouched
    assert patched.json()["updated_at"] > frete["updated_at"]
    assert (await client.get(item, headers=headers)).json()["title"] == "Frete e entrega"
    assert (await client.delete(item, headers=headers)).status_code == 204
    assert (await client.get(item, headers=headers)).status_code == 404
    assert (await client.delete(item, headers=headers)).status_code == 404
    assert await shortcuts() == ["/horario", "/pix"]


async def test_invalid_fields_answer_422_naming_each_field(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    headers = await login(client, await factory.user(await factory.company(), Role.ADMIN))
    response = await client.post(
        URL,
        json={"shortcut": "/com espaço", "title": "   ", "body": "x" * 4097},
        headers=headers,
    )
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "validation_failed"
    assert {field["field"] for field in error["fields"]} == {"shortcut", "title", "body"}
    missing = await client.post(URL, json={"shortcut": "/x", "extra": 1}, headers=headers)
    assert {f["field"] for f in missing.json()["error"]["fields"]} == {"title", "body", "extra"}
    long_shortcut = await client.post(
        URL, json={"shortcut": "/" + "a" * 41, "title": "t", "body": "b"}, headers=headers
    )
    assert long_shortcut.status_code == 422
    created = await _create(client, headers)
    nulled = await client.patch(f"{URL}/{created['id']}", json={"body": None}, headers=headers)
    assert nulled.status_code == 422
    assert [f["field"] for f in nulled.json()["error"]["fields"]] == ["body"]
    blank = await client.patch(f"{URL}/{created['id']}", json={"body": " \n "}, headers=headers)
    assert [f["field"] for f in blank.json()["error"]["fields"]] == ["body"]


async def test_a_shortcut_is_unique_per_company_in_any_letter_case(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    company_id = await factory.company()
    headers = await login(client, await factory.user(company_id, Role.SUPERVISOR))
    await _create(client, headers, shortcut="/Frete")
    again = await client.post(
        URL, json={"shortcut": "/FRETE", "title": "Outro", "body": "x"}, headers=headers
    )
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "conflict"
    assert again.json()["error"]["fields"] == [{"field": "shortcut", "message": "já existe"}]
    other = await _create(client, headers, shortcut="/entrega")
    renamed = await client.patch(
        f"{URL}/{other['id']}", json={"shortcut": "/frete"}, headers=headers
    )
    assert renamed.status_code == 409
    # The failed rename left both as they were, and the request's transaction still works.
    assert sorted(q["shortcut"] for q in (await client.get(URL, headers=headers)).json()) == [
        "/Frete",
        "/entrega",
    ]
    elsewhere = await login(client, await factory.user(await factory.company(), Role.ADMIN))
    await _create(client, elsewhere, shortcut="/frete")  # another company may use it


async def test_operators_use_quick_replies_but_only_supervisors_and_admins_curate_them(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    company_id = await factory.company()
    admin = await login(client, await factory.user(company_id, Role.ADMIN))
    operator = await login(client, await factory.user(company_id, Role.OPERATOR))
    created = await _create(client, admin)
    item = f"{URL}/{created['id']}"
    assert [q["id"] for q in (await client.get(URL, headers=operator)).json()] == [created["id"]]
    assert (await client.get(item, headers=operator)).status_code == 200
    denied = [
        await client.post(
            URL, json={"shortcut": "/x", "title": "x", "body": "x"}, headers=operator
        ),
        await client.patch(item, json={"title": "x"}, headers=operator),
        await client.delete(item, headers=operator),
    ]
    assert [response.status_code for response in denied] == [403, 403, 403]
    assert (await client.get(item, headers=admin)).json()["title"] == "Frete"

    stranger = await login(client, await factory.user(await factory.company(), Role.ADMIN))
    assert (await client.get(URL, headers=stranger)).json() == []
    assert (await client.get(item, headers=stranger)).status_code == 404
    assert (await client.patch(item, json={"title": "x"}, headers=stranger)).status_code == 404
    assert (await client.delete(item, headers=stranger)).status_code == 404
    assert (await client.get(item, headers=admin)).status_code == 200


async def test_render_fills_the_conversations_contact_and_the_caller(
    client: httpx.AsyncClient, db: Database, factory: Factory
) -> None:
    instance = await new_instance(db, factory)
    body = text_message("QR1", remote_jid="5511987650042@s.whatsapp.net", push_name="Rita Lee")
    assert (await post(client, instance.envelope(body))).status_code == 200
    [conversation] = await rows(
        db,
        "select c.id, ct.phone_e164, co.name as company from evolution_conversations c"
        " join contacts ct on ct.id = c.contact_id join companies co on co.id = c.company_id"
        " where c.instance_id = :i",
        i=instance.instance_id,
    )
    operator = await factory.user(instance.company_id, Role.OPERATOR)
    supervisor = await login(client, await factory.user(instance.company_id, Role.SUPERVISOR))
    created = await _create(
        client,
        supervisor,
        shortcut="/oi",
        body="Olá {{ first_name }} ({{name}}, {{phone}})! Aqui é {{agent}}, da {{company}}."
        " {{__class__}} {cupom} {{desconto}}",
    )
    url = f"/api/conversations/{conversation['id']}/quick-replies/{created['id']}/render"
    headers = await login(client, operator)
    rendered = await client.post(url, headers=headers)
    assert rendered.status_code == 200, rendered.text
    assert rendered.json() == {
        "quick_reply_id": created["id"],
        "conversation_id": str(conversation["id"]),
        "text": f"Olá Rita (Rita Lee, {conversation['phone_e164']})! Aqui é operator teste,"
        f" da {conversation['company']}. {{{{__class__}}}} {{cupom}} {{{{desconto}}}}",
    }

    # A colleague's conversation does not exist for this operator; nor do other companies'.
    colleague = await factory.user(instance.company_id, Role.OPERATOR)
    async with db.service_session() as session:
        await session.execute(
            text("update evolution_conversations set assignee_id = :a where id = :id"),
            {"a": colleague.id, "id": conversation["id"]},
        )
    assert (await client.post(url, headers=headers)).status_code == 404
    assert (await client.post(url, headers=supervisor)).status_code == 200
    stranger = await login(client, await factory.user(await factory.company(), Role.ADMIN))
    assert (await client.post(url, headers=stranger)).status_code == 404
    unknown = f"/api/conversations/{conversation['id']}/quick-replies/{uuid.uuid4()}/render"
    assert (await client.post(unknown, headers=supervisor)).status_code == 404
