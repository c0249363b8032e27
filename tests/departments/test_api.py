"""Departments API: admins shape the teams and the menu, everyone reads them, anyone who sees a
chat may send it to a department; RLS and the keys stand behind each rule."""

from __future__ import annotations

import uuid

import httpx

from tests.conftest import Factory, UserFixture, login
from tests.evolution.harness import Instance, new_instance, rows
from tests.web.conftest import customer_writes
from zapcrm.db import Database
from zapcrm.models import Role


async def _company(
    client: httpx.AsyncClient, db: Database, factory: Factory
) -> tuple[Instance, dict[str, str], dict[str, str], UserFixture]:
    """A company with a number, its admin's and an operator's headers, and the operator."""
    instance = await new_instance(db, factory, name=f"loja-{uuid.uuid4().hex[:8]}")
    admin_user = await factory.user(instance.company_id, Role.ADMIN)
    operator_user = await factory.user(instance.company_id, Role.OPERATOR)
    return (
        instance,
        await login(client, admin_user),
        await login(client, operator_user),
        operator_user,
    )


async def test_admins_shape_departments_and_everyone_reads_them(
    client: httpx.AsyncClient, db: Database, factory: Factory
) -> None:
    _instance, admin, operator, operator_user = await _company(client, db, factory)
    sales = await client.post(
        "/api/departments",
        json={"name": " Vendas ", "member_ids": [str(operator_user.id)]},
        headers=admin,
    )
    assert sales.status_code == 201, sales.text
    assert sales.json()["name"] == "Vendas"
    assert sales.json()["member_ids"] == [str(operator_user.id)]
    support = await client.post("/api/departments", json={"name": "Suporte"}, headers=admin)
    assert support.json()["position"] == 2
    # Same name in another letter case: 409 with the field named.
    taken = await client.post("/api/departments", json={"name": "VENDAS"}, headers=admin)
    assert taken.status_code == 409
    assert taken.json()["error"]["fields"] == [{"field": "name", "message": "já existe"}]
    # Someone of another company cannot be a member.
    stranger = await factory.user((await new_instance(db, factory)).company_id, Role.OPERATOR)
    foreign = await client.patch(
        f"/api/departments/{support.json()['id']}",
        json={"member_ids": [str(stranger.id)]},
        headers=admin,
    )
    assert foreign.status_code == 422, foreign.text
    # Support first in the menu; then the list says so to an operator.
    moved = await client.patch(
        f"/api/departments/{support.json()['id']}", json={"position": 1}, headers=admin
    )
    assert moved.status_code == 200, moved.text
    listed = await client.get("/api/departments", headers=operator)
    assert [(d["name"], d["position"]) for d in listed.json()] == [("Suporte", 1), ("Vendas", 2)]
    # The distribution's team view says who works where.
    overview = (await client.get("/api/distribution", headers=admin)).json()
    team = {row["user_id"]: row["department_ids"] for row in overview["team"]}
    assert team[str(operator_user.id)] == [sales.json()["id"]]
    # Operators change nothing.
    refused = await client.post("/api/departments", json={"name": "Financeiro"}, headers=operator)
    assert refused.status_code == 403
    deleted = await client.delete(f"/api/departments/{support.json()['id']}", headers=admin)
    assert deleted.status_code == 204
    listed = await client.get("/api/departments", headers=operator)
    assert [(d["name"], d["position"]) for d in listed.json()] == [("Vendas", 1)]
    audit = await rows(
        db,
        "select action from audit_log where company_id = :c and action like 'department.%'"
        " order by created_at",
        c=_instance.company_id,
    )
    assert [row["action"] for row in audit] == [
        "department.created",
        "department.created",
        "department.changed",
        "department.deleted",
    ]


async def test_the_menu_needs_a_department_and_an_admin(
    client: httpx.AsyncClient, db: Database, factory: Factory
) -> None:
    _instance, admin, operator, _ = await _company(client, db, factory)
    default = await client.get("/api/departments/menu", headers=operator)
    assert default.json()["enabled"] is False
    assert default.json()["greeting"].startswith("Olá!")
    body = {"enabled": True, "greeting": "Bem-vindo à Loja!"}
    empty = await client.put("/api/departments/menu", json=body, headers=admin)
    assert empty.status_code == 422
    await client.post("/api/departments", json={"name": "Vendas"}, headers=admin)
    assert (
        await client.put("/api/departments/menu", json=body, headers=operator)
    ).status_code == 403
    saved = await client.put("/api/departments/menu", json=body, headers=admin)
    assert saved.status_code == 200, saved.text
    assert (await client.get("/api/departments/menu", headers=operator)).json()["enabled"] is True
    unknown = await client.put(
        "/api/departments/menu",
        json={"enabled": True, "greeting": "Olá {{apelido}}!"},
        headers=admin,
    )
    assert unknown.status_code == 422
    assert "apelido" in unknown.text
    too_long = await client.put(
        "/api/departments/menu", json={"enabled": True, "greeting": "x" * 1001}, headers=admin
    )
    assert too_long.status_code == 422


async def test_a_chat_sent_to_a_department_leaves_its_agent_and_waits_there(
    client: httpx.AsyncClient, db: Database, factory: Factory
) -> None:
    instance, admin, operator, operator_user = await _company(client, db, factory)
    sales = (await client.post("/api/departments", json={"name": "Vendas"}, headers=admin)).json()
    conversation_id = await customer_writes(client, db, instance, text_body="Quero comprar")
    mine = await client.post(
        f"/api/conversations/{conversation_id}/assign",
        json={"assignee_id": str(operator_user.id)},
        headers=operator,
    )
    assert mine.status_code == 200, mine.text
    routed = await client.post(
        f"/api/conversations/{conversation_id}/department",
        json={"department_id": sales["id"]},
        headers=operator,
    )
    assert routed.status_code == 200, routed.text
    [chat] = await rows(
        db,
        "select department_id, assignee_id, menu_cycle_id is not null as routed_in_cycle"
        " from evolution_conversations where id = :id",
        id=conversation_id,
    )
    assert chat == {
        "department_id": uuid.UUID(sales["id"]),
        "assignee_id": None,
        "routed_in_cycle": True,
    }
    conversation = await client.get(f"/api/conversations/{conversation_id}", headers=operator)
    assert conversation.json()["department_id"] == sales["id"]
    assert conversation.json()["department_name"] == "Vendas"
    listed = await client.get(
        f"/api/conversations?department_id={sales['id']}&assignee=unassigned", headers=operator
    )
    assert [c["id"] for c in listed.json()["items"]] == [str(conversation_id)]
    other_department = await client.get(
        f"/api/conversations?department_id={uuid.uuid4()}", headers=operator
    )
    assert other_department.json()["items"] == []
    # A department of another company, or none that exists: 404, nothing changed.
    unknown = await client.post(
        f"/api/conversations/{conversation_id}/department",
        json={"department_id": str(uuid.uuid4())},
        headers=operator,
    )
    assert unknown.status_code == 404
    # A chat the caller cannot see: 404.
    other = await _company(client, db, factory)
    hidden = await client.post(
        f"/api/conversations/{conversation_id}/department",
        json={"department_id": None},
        headers=other[1],
    )
    assert hidden.status_code == 404
