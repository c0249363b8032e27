"""Nova conversa in the panel: an agent writes first, to a phone or to a contact from its page."""

from __future__ import annotations

import re

import httpx

from tests.conftest import Factory, login
from tests.evolution.harness import Instance, new_instance, rows
from tests.web.conftest import Browser, panel_login
from zapcrm.db import Database
from zapcrm.models import Role

KEY = re.compile(r'name="idempotency_key" value="([^"]+)"')


async def _form(http: httpx.AsyncClient, url: str = "/panel/conversations/new") -> str:
    page = await http.get(url)
    assert page.status_code == 200, page.text
    found = KEY.search(page.text)
    assert found, page.text
    return found.group(1)


async def _sent(db: Database, instance: Instance) -> list[dict[str, object]]:
    return await rows(
        db,
        "select m.body, m.status, c.remote_jid, c.assignee_id, m.sent_by"
        " from evolution_messages m join evolution_conversations c on c.id = m.conversation_id"
        " where m.instance_id = :i order by m.created_at",
        i=instance.instance_id,
    )


async def test_an_agent_writes_first_to_a_phone_typed_any_way(
    new_browser: Browser, db: Database, factory: Factory
) -> None:
    instance = await new_instance(db, factory)
    operator = await factory.user(instance.company_id, Role.OPERATOR)
    http = await new_browser()
    csrf = await panel_login(http, operator)
    inbox = await http.get("/panel/inbox")
    assert 'href="/panel/conversations/new"' in inbox.text
    key = await _form(http)
    form = {"csrf_token": csrf, "idempotency_key": key, "phone": "(21) 99876-1234",
            "text": "Seu pedido saiu para entrega."}  # fmt: skip
    first = await http.post("/panel/conversations/new", data=form)
    again = await http.post("/panel/conversations/new", data=form)  # a double submit
    assert first.status_code == 303, first.text
    assert again.headers["location"] == first.headers["location"]
    assert await _sent(db, instance) == [
        {
            "body": "Seu pedido saiu para entrega.",
            "status": "queued",
            "remote_jid": "5521998761234@s.whatsapp.net",
            "assignee_id": operator.id,  # the new chat is the writer's
            "sent_by": operator.id,
        }
    ]
    chat = await http.get(first.headers["location"])
    assert "Seu pedido saiu para entrega." in chat.text


async def test_problems_come_back_on_the_form_with_what_was_typed(
    new_browser: Browser, client: httpx.AsyncClient, db: Database, factory: Factory
) -> None:
    instance = await new_instance(db, factory)
    operator = await factory.user(instance.company_id, Role.OPERATOR)
    http = await new_browser()
    csrf = await panel_login(http, operator)
    key = await _form(http)
    base = {"csrf_token": csrf, "idempotency_key": key}
    bad_phone = await http.post(
        "/panel/conversations/new", data=base | {"phone": "123", "text": "Oi <b>você</b>"}
    )
    assert bad_phone.status_code == 422
    assert 'aria-invalid="true"' in bad_phone.text
    assert "curto demais" in bad_phone.text  # the problem in Portuguese, not the library's words
    assert "Oi &lt;b&gt;você&lt;/b&gt;</textarea>" in bad_phone.text  # kept, escaped
    empty = await http.post("/panel/conversations/new", data=base | {"phone": "11987650001"})
    assert empty.status_code == 422
    assert "escreva uma mensagem antes de enviar" in empty.text
    no_csrf = await http.post(
        "/panel/conversations/new", data={"phone": "11987650001", "text": "Oi"}
    )
    assert no_csrf.status_code == 403
    assert await _sent(db, instance) == []

    # A contact of the company, from its page; a stranger's contact id is not found.
    created = await client.post(
        "/api/contacts",
        json={"name": "Dona Cida", "phone": "11987650077"},
        headers=await login(client, operator),
    )
    contact_id = created.json()["id"]
    page = await http.get(f"/panel/contacts/{contact_id}")
    assert f'href="/panel/conversations/new?contact={contact_id}"' in page.text
    key = await _form(http, f"/panel/conversations/new?contact={contact_id}")
    sent = await http.post(
        "/panel/conversations/new",
        data={"csrf_token": csrf, "idempotency_key": key, "contact": contact_id, "text": "Oi!"},
    )
    assert sent.status_code == 303, sent.text
    assert [row["remote_jid"] for row in await _sent(db, instance)] == [
        "5511987650077@s.whatsapp.net"
    ]
    other = await factory.company()
    stranger = await factory.user(other, Role.OPERATOR)
    foreign = await client.post(
        "/api/contacts",
        json={"name": "De fora", "phone": "11987650078"},
        headers=await login(client, stranger),
    )
    refused = await http.post(
        "/panel/conversations/new",
        data={"csrf_token": csrf, "contact": foreign.json()["id"], "text": "Oi!"},
    )
    assert refused.status_code == 404
    assert len(await _sent(db, instance)) == 1


async def test_without_a_whatsapp_number_the_form_says_how_to_get_one(
    new_browser: Browser, factory: Factory
) -> None:
    company = await factory.company()
    http = await new_browser()
    csrf = await panel_login(http, await factory.user(company, Role.OPERATOR))
    page = await http.get("/panel/conversations/new")
    assert "Nenhum número de WhatsApp conectado" in page.text
    assert 'name="text"' not in page.text
    posted = await http.post(
        "/panel/conversations/new",
        data={"csrf_token": csrf, "phone": "11987650001", "text": "Oi"},
    )
    assert posted.status_code == 422


async def test_writing_to_a_contact_who_opted_out_warns_first(
    new_browser: Browser, client: httpx.AsyncClient, db: Database, factory: Factory
) -> None:
    instance = await new_instance(db, factory)
    operator = await factory.user(instance.company_id, Role.OPERATOR)
    created = await client.post(
        "/api/contacts",
        json={"name": "Seu Lima", "phone": "11987650079", "opted_out": True},
        headers=await login(client, operator),
    )
    assert created.status_code == 201, created.text
    http = await new_browser()
    await panel_login(http, operator)
    page = await http.get(f"/panel/conversations/new?contact={created.json()['id']}")
    assert "pediu para não receber mensagens" in page.text
