"""Tasks API: create and edit with links, validation, complete/reopen/delete, the audit trail,
the contact timeline and keyset pagination."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx

from tests.conftest import Factory
from tests.tasks.helpers import audit_actions, create, iso, listed, team
from zapcrm.db import Database


async def test_a_task_from_a_conversation_goes_to_its_creator_and_links_the_chats_contact(
    client: httpx.AsyncClient, db: Database, factory: Factory
) -> None:
    people = await team(client, db, factory)
    graph = people.graph
    due = datetime.now(UTC) + timedelta(days=1)
    task = await create(
        client,
        people.operator,
        title="  Enviar orçamento  ",
        description="Plano anual",
        due_at=iso(due),
        conversation_id=str(graph.mine_conversation_id),
    )
    assert task["title"] == "Enviar orçamento"
    assert task["status"] == "open"
    assert task["overdue"] is False
    assert task["assignee_id"] == task["created_by"] == str(graph.operator.id)
    assert task["assignee_name"] == "operator teste"
    assert task["conversation_id"] == str(graph.mine_conversation_id)
    assert (task["contact_id"], task["contact_name"]) == (str(graph.contact_id), "Maria")
    assert datetime.fromisoformat(task["due_at"]) == due
    fetched = await client.get(f"/api/tasks/{task['id']}", headers=people.operator)
    assert fetched.status_code == 200
    assert fetched.json() == task
    assert await audit_actions(db, task["id"]) == ["task.created"]

    history = await client.get(f"/api/contacts/{graph.contact_id}/history", headers=people.operator)
    assert history.status_code == 200, history.text
    entries = [item for item in history.json()["items"] if item["kind"] == "task"]
    assert [(entry["text"], entry["details"]["task_id"]) for entry in entries] == [
        ("Enviar orçamento", task["id"])
    ]
    assert entries[0]["conversation_id"] == str(graph.mine_conversation_id)


async def test_unassigned_and_delegated_tasks(
    client: httpx.AsyncClient, db: Database, factory: Factory
) -> None:
    people = await team(client, db, factory)
    graph = people.graph
    pool = await create(client, people.supervisor, title="Fila da equipe", assignee_id=None)
    assert pool["assignee_id"] is None
    delegated = await create(
        client, people.operator, title="Para a colega", assignee_id=str(graph.other_operator.id)
    )
    assert delegated["assignee_name"] == "operator teste"

    assert [t["id"] for t in await listed(client, people.colleague)] == [delegated["id"]]
    assert await listed(client, people.operator) == []  # mine = assigned to me
    assert [t["id"] for t in await listed(client, people.operator, scope="created")] == [
        delegated["id"]
    ]
    # The operator sees the team's pool and what they delegated; not the colleague's own work.
    own = await create(client, people.colleague, title="Só minha")
    seen = {t["id"] for t in await listed(client, people.operator, scope="all")}
    assert seen == {pool["id"], delegated["id"]}
    assert own["id"] not in seen
    everything = {t["id"] for t in await listed(client, people.supervisor, scope="all")}
    assert everything == {pool["id"], delegated["id"], own["id"]}

    # Taking a task from the pool.
    taken = await client.patch(
        f"/api/tasks/{pool['id']}",
        json={"assignee_id": str(graph.operator.id)},
        headers=people.operator,
    )
    assert taken.status_code == 200, taken.text
    assert [t["id"] for t in await listed(client, people.operator)] == [pool["id"]]


async def test_fields_are_validated_with_their_names(
    client: httpx.AsyncClient, db: Database, factory: Factory
) -> None:
    people = await team(client, db, factory)
    graph = people.graph

    async def refused(body: dict[str, object], method: str = "POST", url: str = "/api/tasks"):
        response = await client.request(method, url, json=body, headers=people.operator)
        assert response.status_code == 422, response.text
        return {item["field"] for item in response.json()["error"]["fields"]}

    assert await refused({"title": "   "}) == {"title"}
    assert await refused({"title": "x" * 201}) == {"title"}
    assert await refused({"title": "ok", "description": "x" * 2001}) == {"description"}
    assert await refused({"title": "ok", "due_at": "2026-12-01T10:00:00"}) == {"due_at"}
    assert await refused({"title": "ok", "due_at": "amanhã"}) == {"due_at"}
    assert await refused({"title": "ok", "assignee_id": "nope"}) == {"assignee_id"}
    assert await refused({"title": "ok", "status": "done"}) == {"status"}
    assert await refused({}) == {"title"}
    # Someone outside the company cannot be the assignee.
    outsider = await factory.user(await factory.company())
    assert await refused({"title": "ok", "assignee_id": str(outsider.id)}) == {"assignee_id"}
    # A conversation of Maria with another contact beside it.
    other_contact = await client.post("/api/contacts", json={"name": "João"}, headers=people.admin)
    assert other_contact.status_code == 201
    mismatch = {
        "title": "ok",
        "contact_id": other_contact.json()["id"],
        "conversation_id": str(graph.mine_conversation_id),
    }
    assert await refused(mismatch) == {"contact_id"}

    task = await create(client, people.operator, title="Certo", description="detalhe")
    url = f"/api/tasks/{task['id']}"
    assert await refused({"title": None}, "PATCH", url) == {"title"}
    assert await refused({"title": ""}, "PATCH", url) == {"title"}
    assert await refused({"description": None}, "PATCH", url) == {"description"}
    assert await refused({"due_at": "2026-12-01 10:00"}, "PATCH", url) == {"due_at"}
    assert await refused({"status": "done"}, "PATCH", url) == {"status"}
    unchanged = await client.get(url, headers=people.operator)
    assert (unchanged.json()["title"], unchanged.json()["description"]) == ("Certo", "detalhe")


async def test_edit_clears_and_relinks(
    client: httpx.AsyncClient, db: Database, factory: Factory
) -> None:
    people = await team(client, db, factory)
    graph = people.graph
    task = await create(
        client, people.operator, title="Antes", due_at=iso(datetime.now(UTC) + timedelta(hours=3))
    )
    assert task["contact_id"] is None
    url = f"/api/tasks/{task['id']}"
    linked = await client.patch(
        url,
        json={"title": "Depois", "conversation_id": str(graph.unassigned_conversation_id)},
        headers=people.operator,
    )
    assert linked.status_code == 200, linked.text
    body = linked.json()
    assert body["title"] == "Depois"
    assert body["conversation_id"] == str(graph.unassigned_conversation_id)
    assert body["contact_id"] == str(graph.contact_id)  # followed the chat
    assert body["due_at"] is not None
    cleared = await client.patch(
        url, json={"due_at": None, "conversation_id": None}, headers=people.operator
    )
    assert cleared.status_code == 200
    assert cleared.json()["due_at"] is None
    assert cleared.json()["conversation_id"] is None
    assert cleared.json()["contact_id"] == str(graph.contact_id)  # the contact stays
    unlinked = await client.patch(url, json={"contact_id": None}, headers=people.operator)
    assert (unlinked.json()["contact_id"], unlinked.json()["contact_name"]) == (None, None)
    missing = await client.patch(
        url, json={"contact_id": "00000000-0000-0000-0000-000000000000"}, headers=people.operator
    )
    assert missing.status_code == 404


async def test_complete_reopen_delete_are_audited(
    client: httpx.AsyncClient, db: Database, factory: Factory
) -> None:
    people = await team(client, db, factory)
    past = datetime.now(UTC) - timedelta(hours=2)
    task = await create(client, people.operator, title="Retornar", due_at=iso(past))
    assert task["overdue"] is True
    url = f"/api/tasks/{task['id']}"

    done = await client.post(f"{url}/complete", headers=people.operator)
    assert done.status_code == 200, done.text
    assert done.json()["status"] == "done"
    assert done.json()["overdue"] is False
    completed_at = done.json()["completed_at"]
    assert completed_at is not None
    again = await client.post(f"{url}/complete", headers=people.operator)
    assert again.json()["completed_at"] == completed_at  # a double click changes nothing
    assert await listed(client, people.operator) == []
    assert [t["id"] for t in await listed(client, people.operator, status="done")] == [task["id"]]

    reopened = await client.post(f"{url}/reopen", headers=people.operator)
    assert reopened.status_code == 200
    assert (reopened.json()["status"], reopened.json()["completed_at"]) == ("open", None)
    assert reopened.json()["overdue"] is True

    deleted = await client.delete(url, headers=people.operator)
    assert deleted.status_code == 204
    assert (await client.get(url, headers=people.operator)).status_code == 404
    assert (await client.post(f"{url}/complete", headers=people.operator)).status_code == 404
    assert await audit_actions(db, task["id"]) == [
        "task.created",
        "task.completed",
        "task.reopened",
        "task.deleted",
    ]


async def test_keyset_pagination_walks_every_task_once(
    client: httpx.AsyncClient, db: Database, factory: Factory
) -> None:
    people = await team(client, db, factory)
    base = datetime(2030, 1, 1, 12, tzinfo=UTC)
    # Ties on the due date and undated tasks: the id breaks ties, undated come last.
    dues = [base, base, base + timedelta(hours=1), None, base - timedelta(days=1), None, base]
    for index, due in enumerate(dues):
        await create(
            client,
            people.operator,
            title=f"Tarefa {index}",
            due_at=iso(due) if due else None,
        )

    async def walk(**params: str | int) -> list[dict[str, object]]:
        seen: list[dict[str, object]] = []
        cursor = None
        while True:
            query = {"limit": 3, **params}
            if cursor:
                query["cursor"] = cursor
            response = await client.get("/api/tasks", params=query, headers=people.operator)
            assert response.status_code == 200, response.text
            page = response.json()
            assert len(page["items"]) <= 3
            seen += page["items"]
            cursor = page["next_cursor"]
            if cursor is None:
                return seen

    seen = await walk()
    assert len(seen) == 7
    assert len({task["id"] for task in seen}) == 7
    due_dates = [task["due_at"] for task in seen]
    assert due_dates[-2:] == [None, None]
    dated = [datetime.fromisoformat(str(value)) for value in due_dates[:-2]]
    assert dated == sorted(dated)

    for task in seen:
        response = await client.post(f"/api/tasks/{task['id']}/complete", headers=people.operator)
        assert response.status_code == 200
    finished = await walk(status="done")
    assert len({task["id"] for task in finished}) == len(finished) == 7
    completed = [str(task["completed_at"]) for task in finished]
    assert completed == sorted(completed, reverse=True)
    assert len(await walk(status="any")) == 7

    tampered = await client.get("/api/tasks", params={"cursor": "nope"}, headers=people.operator)
    assert tampered.status_code == 400
    bad_scope = await client.get("/api/tasks", params={"scope": "x"}, headers=people.operator)
    assert bad_scope.status_code == 422
