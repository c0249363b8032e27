"""Who sees and changes which task: operators, supervisors, other companies, and the
policies of migration 0011 on their own (as a direct Supabase client would meet them)."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from tests.conftest import Factory, claims_for, login
from tests.tasks.helpers import create, listed, team
from zapcrm.db import Database


async def test_an_operator_cannot_read_complete_or_link_to_a_colleagues_private_work(
    client: httpx.AsyncClient, db: Database, factory: Factory
) -> None:
    people = await team(client, db, factory)
    graph = people.graph
    private = await create(client, people.colleague, title="Particular")
    url = f"/api/tasks/{private['id']}"
    for method, path, body in (
        ("GET", url, None),
        ("PATCH", url, {"title": "tomado"}),
        ("POST", f"{url}/complete", None),
        ("POST", f"{url}/reopen", None),
        ("DELETE", url, None),
    ):
        response = await client.request(method, path, json=body, headers=people.operator)
        assert response.status_code == 404, (method, path, response.text)
        assert response.json()["error"]["code"] == "not_found"

    # The colleague's conversation: no new link to it, by create or by edit.
    theirs = str(graph.others_conversation_id)
    refused = await client.post(
        "/api/tasks", json={"title": "x", "conversation_id": theirs}, headers=people.operator
    )
    assert refused.status_code == 404
    assert refused.json()["error"]["message"] == "conversa não encontrada"
    mine = await create(client, people.operator, title="Minha")
    relink = await client.patch(
        f"/api/tasks/{mine['id']}", json={"conversation_id": theirs}, headers=people.operator
    )
    assert relink.status_code == 404

    # A pool task about the colleague's chat is hidden from the operator, not from the
    # colleague or the supervisor.
    about_their_chat = await create(
        client, people.supervisor, title="Sobre a conversa dela", assignee_id=None,
        conversation_id=theirs,
    )  # fmt: skip
    for headers, visible in (
        (people.operator, False),
        (people.colleague, True),
        (people.supervisor, True),
    ):
        response = await client.get(f"/api/tasks/{about_their_chat['id']}", headers=headers)
        assert response.status_code == (200 if visible else 404)
        ids = {task["id"] for task in await listed(client, headers, scope="all")}
        assert (about_their_chat["id"] in ids) is visible
    # ... nor does it leak through the contact's timeline.
    history = await client.get(f"/api/contacts/{graph.contact_id}/history", headers=people.operator)
    assert about_their_chat["id"] not in {
        item["details"].get("task_id") for item in history.json()["items"]
    }

    state = await client.get(url, headers=people.colleague)
    assert (state.json()["title"], state.json()["status"]) == ("Particular", "open")


async def test_handing_over_and_deleting_need_the_creator_or_a_supervisor(
    client: httpx.AsyncClient, db: Database, factory: Factory
) -> None:
    people = await team(client, db, factory)
    graph = people.graph
    given = await create(
        client, people.supervisor, title="Da supervisora", assignee_id=str(graph.operator.id)
    )
    url = f"/api/tasks/{given['id']}"
    handed = await client.patch(
        url, json={"assignee_id": str(graph.other_operator.id)}, headers=people.operator
    )
    assert handed.status_code == 403
    assert (await client.delete(url, headers=people.operator)).status_code == 403
    edited = await client.patch(url, json={"title": "Da supervisora (feito 50%)"},
                                headers=people.operator)  # fmt: skip
    assert edited.status_code == 200
    assert (await client.post(f"{url}/complete", headers=people.operator)).status_code == 200
    # The supervisor hands it over and deletes it.
    moved = await client.patch(
        url, json={"assignee_id": str(graph.other_operator.id)}, headers=people.supervisor
    )
    assert moved.status_code == 200
    assert moved.json()["assignee_id"] == str(graph.other_operator.id)
    assert (await client.get(url, headers=people.operator)).status_code == 404
    assert (await client.delete(url, headers=people.supervisor)).status_code == 204
    # The creator may hand over what they created and still follows it.
    own = await create(client, people.operator, title="Minha para a colega")
    passed = await client.patch(
        f"/api/tasks/{own['id']}",
        json={"assignee_id": str(graph.other_operator.id)},
        headers=people.operator,
    )
    assert passed.status_code == 200
    assert (await client.get(f"/api/tasks/{own['id']}", headers=people.operator)).status_code == 200


async def test_another_companys_task_is_not_found(
    client: httpx.AsyncClient, db: Database, factory: Factory
) -> None:
    people = await team(client, db, factory)
    foreign = await team(client, db, factory)
    task = await create(client, foreign.admin, title="De outra empresa")
    url = f"/api/tasks/{task['id']}"
    for method, path in (
        ("GET", url),
        ("PATCH", url),
        ("POST", f"{url}/complete"),
        ("POST", f"{url}/reopen"),
        ("DELETE", url),
    ):
        body = {"title": "x"} if method == "PATCH" else None
        response = await client.request(method, path, json=body, headers=people.admin)
        assert response.status_code == 404, (method, response.text)
    assert await listed(client, people.admin, scope="all") == []
    # Nor can a task here point at the other company's contact or conversation.
    for link in (
        {"contact_id": str(foreign.graph.contact_id)},
        {"conversation_id": str(foreign.graph.unassigned_conversation_id)},
    ):
        response = await client.post(
            "/api/tasks", json={"title": "x", **link}, headers=people.admin
        )
        assert response.status_code == 404, link
    after = await client.get(url, headers=foreign.admin)
    assert (after.json()["title"], after.json()["status"]) == ("De outra empresa", "open")


@pytest.mark.parametrize(
    "values",
    [
        "(:company, 'forjada', :colleague, null, null)",  # created_by someone else
        "(:company, 'conversa alheia', :me, :others_chat, null)",  # colleague's private chat
        "(:foreign_company, 'outra empresa', :me, null, null)",
        "(:company, 'contato alheio', :me, null, :foreign_contact)",
    ],
)
async def test_policies_refuse_forged_task_rows(
    db: Database, factory: Factory, client: httpx.AsyncClient, values: str
) -> None:
    people = await team(client, db, factory)
    foreign = await team(client, db, factory)
    graph = people.graph
    params = {
        "company": graph.company_id,
        "foreign_company": foreign.graph.company_id,
        "me": graph.operator.id,
        "colleague": graph.other_operator.id,
        "others_chat": graph.others_conversation_id,
        "foreign_contact": foreign.graph.contact_id,
    }
    with pytest.raises(DBAPIError, match="row-level security"):
        async with db.tenant_session(claims_for(graph.operator)) as session:
            await session.execute(
                text(
                    "insert into tasks (company_id, title, created_by, conversation_id,"
                    " contact_id) values " + values
                ),
                params,
            )
    async with db.tenant_session(claims_for(graph.operator)) as session:
        await session.execute(
            text(
                "insert into tasks (company_id, title, created_by, conversation_id, contact_id)"
                " values (:company, 'legítima', :me, :mine_chat, :contact)"
            ),
            {**params, "mine_chat": graph.mine_conversation_id, "contact": graph.contact_id},
        )


async def test_policy_hides_pool_tasks_about_chats_the_operator_cannot_see(
    db: Database, factory: Factory, client: httpx.AsyncClient
) -> None:
    people = await team(client, db, factory)
    graph = people.graph
    async with db.service_session() as session:
        for title, conversation in (
            ("sobre a minha", graph.mine_conversation_id),
            ("sobre a dela", graph.others_conversation_id),
            ("sobre a livre", graph.unassigned_conversation_id),
            ("sem conversa", None),
        ):
            await session.execute(
                text(
                    "insert into tasks (company_id, title, conversation_id, created_by)"
                    " values (:c, :t, :conv, :creator)"
                ),
                {"c": graph.company_id, "t": title, "conv": conversation,
                 "creator": graph.supervisor.id},
            )  # fmt: skip
        # Created by the operator about the colleague's chat (it moved there later).
        await session.execute(
            text(
                "insert into tasks (company_id, title, conversation_id, created_by)"
                " values (:c, 'minha, conversa mudou de dono', :conv, :me)"
            ),
            {"c": graph.company_id, "conv": graph.others_conversation_id, "me": graph.operator.id},
        )
    async with db.tenant_session(claims_for(graph.operator)) as session:
        titles = set((await session.execute(text("select title from tasks"))).scalars())
        hidden = await session.execute(
            text("update tasks set title = 'x' where title = 'sobre a dela'")
        )
        assert hidden.rowcount == 0  # type: ignore[attr-defined]
    assert titles == {
        "sobre a minha",
        "sobre a livre",
        "sem conversa",
        "minha, conversa mudou de dono",
    }
    headers = await login(client, graph.other_operator)
    colleague_sees = {task["title"] for task in await listed(client, headers, scope="all")}
    # Unassigned, so the colleague (who holds that chat now) sees the operator's task too.
    assert colleague_sees == {
        "sobre a dela",
        "sobre a livre",
        "sem conversa",
        "minha, conversa mudou de dono",
    }
