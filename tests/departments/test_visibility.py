"""Departments bound what an operator sees, in Postgres (migration 0038): a chat waiting in a
department they do not work in is not theirs to read, search, take or write to, by any route;
it becomes theirs when it is given to them. Operators in no department, supervisors and admins
see every queue."""

from __future__ import annotations

import uuid

import httpx

from tests.conftest import Factory, login
from tests.evolution.harness import Instance, new_instance, rows
from tests.web.conftest import customer_writes
from zapcrm.db import Database
from zapcrm.models import Role


class _Shop:
    """A company with Vendas (the seller works there) and Financeiro, and one chat waiting in
    each, plus one in no department."""

    def __init__(self, instance: Instance, headers: dict[str, dict[str, str]]) -> None:
        self.instance = instance
        self.headers = headers
        self.sales_id = ""
        self.finance_id = ""
        self.chats: dict[str, uuid.UUID] = {}


async def _shop(client: httpx.AsyncClient, db: Database, factory: Factory) -> _Shop:
    instance = await new_instance(db, factory, name=f"loja-{uuid.uuid4().hex[:8]}")
    users = {
        "admin": await factory.user(instance.company_id, Role.ADMIN),
        "supervisor": await factory.user(instance.company_id, Role.SUPERVISOR),
        "seller": await factory.user(instance.company_id, Role.OPERATOR),
        "generalist": await factory.user(instance.company_id, Role.OPERATOR),
    }
    shop = _Shop(instance, {name: await login(client, user) for name, user in users.items()})
    shop.headers["seller_id"] = {"id": str(users["seller"].id)}
    admin = shop.headers["admin"]
    sales = await client.post(
        "/api/departments",
        json={"name": "Vendas", "member_ids": [str(users["seller"].id)]},
        headers=admin,
    )
    finance = await client.post("/api/departments", json={"name": "Financeiro"}, headers=admin)
    shop.sales_id, shop.finance_id = sales.json()["id"], finance.json()["id"]
    for name, phone, department in (
        ("sales", "5511987650101", shop.sales_id),
        ("finance", "5511987650102", shop.finance_id),
        ("none", "5511987650103", None),
    ):
        chat = await customer_writes(
            client, db, instance, text_body=f"boleto pedido {name}", phone=phone
        )
        if department:
            routed = await client.post(
                f"/api/conversations/{chat}/department",
                json={"department_id": department},
                headers=admin,
            )
            assert routed.status_code == 200, routed.text
        shop.chats[name] = chat
    return shop


async def _listed(client: httpx.AsyncClient, headers: dict[str, str]) -> set[uuid.UUID]:
    answer = await client.get("/api/conversations?assignee=unassigned&limit=100", headers=headers)
    assert answer.status_code == 200, answer.text
    return {uuid.UUID(c["id"]) for c in answer.json()["items"]}


async def test_an_operator_reads_nothing_of_another_departments_waiting_chat(
    client: httpx.AsyncClient, db: Database, factory: Factory
) -> None:
    shop = await _shop(client, db, factory)
    seller, chats = shop.headers["seller"], shop.chats
    finance = chats["finance"]

    assert await _listed(client, seller) == {chats["sales"], chats["none"]}
    for path in (
        f"/api/conversations/{finance}",
        f"/api/conversations/{finance}/messages",
        f"/api/conversations/{finance}/notes",
    ):
        hidden = await client.get(path, headers=seller)
        assert hidden.status_code == 404, (path, hidden.text)
    found = await client.get("/api/messages/search?q=boleto", headers=seller)
    assert found.status_code == 200, found.text
    assert {uuid.UUID(hit["conversation"]["id"]) for hit in found.json()["items"]} == {
        chats["sales"],
        chats["none"],
    }
    # Taking it, writing in it or routing it by its id: 404, and nothing changed.
    take = await client.post(
        f"/api/conversations/{finance}/assign",
        json={"assignee_id": shop.headers["seller_id"]["id"]},
        headers=seller,
    )
    assert take.status_code == 404, take.text
    write = await client.post(
        f"/api/conversations/{finance}/messages", json={"text": "Oi"}, headers=seller
    )
    assert write.status_code == 404, write.text
    note = await client.post(
        f"/api/conversations/{finance}/notes", json={"body": "anotação"}, headers=seller
    )
    assert note.status_code == 404, note.text
    route = await client.post(
        f"/api/conversations/{finance}/department",
        json={"department_id": shop.sales_id},
        headers=seller,
    )
    assert route.status_code == 404, route.text
    # Starting a chat with that customer finds theirs, and says why it cannot be written to.
    start = await client.post(
        "/api/messages",
        json={"instance_id": str(shop.instance.instance_id), "phone": "+55 11 98765-0102",
              "text": "Olá"},
        headers=seller,
    )  # fmt: skip
    assert start.status_code == 409, start.text
    assert "outro setor" in start.json()["error"]["message"]
    [stored] = await rows(
        db,
        "select assignee_id, department_id, (select count(*) from evolution_messages m"
        " where m.conversation_id = c.id) as messages from evolution_conversations c"
        " where c.id = :id",
        id=finance,
    )
    assert stored == {
        "assignee_id": None,
        "department_id": uuid.UUID(shop.finance_id),
        "messages": 1,
    }

    # Everyone else waits on every queue.
    everything = {chats["sales"], chats["finance"], chats["none"]}
    for name in ("generalist", "supervisor", "admin"):
        assert await _listed(client, shop.headers[name]) == everything, name
        seen = await client.get(f"/api/conversations/{finance}", headers=shop.headers[name])
        assert seen.status_code == 200, (name, seen.text)


async def test_a_chat_given_to_an_operator_is_theirs_whatever_its_department(
    client: httpx.AsyncClient, db: Database, factory: Factory
) -> None:
    shop = await _shop(client, db, factory)
    seller, finance = shop.headers["seller"], shop.chats["finance"]
    given = await client.post(
        f"/api/conversations/{finance}/assign",
        json={"assignee_id": shop.headers["seller_id"]["id"]},
        headers=shop.headers["supervisor"],
    )
    assert given.status_code == 200, given.text
    opened = await client.get(f"/api/conversations/{finance}/messages", headers=seller)
    assert opened.status_code == 200, opened.text
    assert [m["body"] for m in opened.json()["items"]] == ["boleto pedido finance"]
    # Back to the queue (unassigned): it waits in Financeiro again, out of the seller's sight,
    # and the answer says what was written.
    back = await client.post(
        f"/api/conversations/{finance}/assign", json={"assignee_id": None}, headers=seller
    )
    assert back.status_code == 200, back.text
    assert back.json()["assignee_id"] is None
    hidden = await client.get(f"/api/conversations/{finance}", headers=seller)
    assert hidden.status_code == 404


async def test_an_operator_sends_a_chat_to_a_department_they_do_not_work_in(
    client: httpx.AsyncClient, db: Database, factory: Factory
) -> None:
    shop = await _shop(client, db, factory)
    seller, sales_chat = shop.headers["seller"], shop.chats["sales"]
    # The customer asked Vendas for a second copy of a bill: Financeiro's business.
    routed = await client.post(
        f"/api/conversations/{sales_chat}/department",
        json={"department_id": shop.finance_id},
        headers=seller,
    )
    assert routed.status_code == 200, routed.text
    [stored] = await rows(
        db,
        "select department_id, assignee_id from evolution_conversations where id = :id",
        id=sales_chat,
    )
    assert stored == {"department_id": uuid.UUID(shop.finance_id), "assignee_id": None}
    assert (await client.get(f"/api/conversations/{sales_chat}", headers=seller)).status_code == 404
    assert sales_chat not in await _listed(client, seller)
    [audit] = await rows(
        db,
        "select count(*) as n from audit_log where action = 'conversation.department_changed'"
        " and target_id = cast(:id as text)",
        id=sales_chat,
    )
    assert audit["n"] == 2  # the admin's routing in _shop, then the seller's
