"""Live tasks (issue 6): every change through the API or the panel is announced after commit
(`task.*` on the company channel, ids only), each reader is pinged only about tasks RLS lets
them see, and an open page answers with loaders that fetch its badge and list again."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import orjson
import pytest
from redis.asyncio.client import PubSub

from tests.conftest import Factory, UserFixture, identity_of
from tests.tasks.helpers import Team, create, team
from zapcrm.db import Database
from zapcrm.messaging import realtime
from zapcrm.runtime import Runtime
from zapcrm.tasks import live
from zapcrm.web.dependencies import PanelUser
from zapcrm.web.pages.events import PageView
from zapcrm.web.sessions import PanelSession
from zapcrm.web.views import Agents, InboxFilter

BADGE_LOADER = 'id="task-badge-live"'
LIST_LOADER = 'id="task-list-live"'


@pytest.fixture
async def channel(runtime: Runtime) -> AsyncIterator[PubSub]:
    """A subscription to every company channel (each test filters by its company)."""
    pubsub = runtime.redis.pubsub()
    await pubsub.psubscribe(realtime.channel_for("*"))
    try:
        yield pubsub
    finally:
        await pubsub.aclose()  # type: ignore[no-untyped-call]


async def _task_events(
    pubsub: PubSub, company_id: uuid.UUID, count: int, within: float = 15.0
) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    async with asyncio.timeout(within):
        while len(found) < count:
            message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=0.2)
            if message is None or message["channel"] != realtime.channel_for(company_id):
                continue
            event = orjson.loads(message["data"])
            if str(event["type"]).startswith("task."):
                found.append(event)
    return found


async def test_every_change_is_announced_with_ids_and_the_conversations_assignee(
    client: httpx.AsyncClient,
    db: Database,
    factory: Factory,
    live_worker: None,
    channel: PubSub,
) -> None:
    people = await team(client, db, factory)
    graph = people.graph
    operator, other = str(graph.operator.id), str(graph.other_operator.id)

    task = await create(
        client,
        people.supervisor,
        title="Segredo do cliente",
        assignee_id=operator,
        conversation_id=str(graph.mine_conversation_id),
    )
    done = await client.post(f"/api/tasks/{task['id']}/complete", headers=people.operator)
    again = await client.post(f"/api/tasks/{task['id']}/complete", headers=people.operator)
    assert (done.status_code, again.status_code) == (200, 200)
    moved = await client.patch(
        f"/api/tasks/{task['id']}", json={"assignee_id": other}, headers=people.supervisor
    )
    assert moved.status_code == 200, moved.text
    unchanged = await client.patch(
        f"/api/tasks/{task['id']}", json={"assignee_id": other}, headers=people.supervisor
    )
    assert unchanged.status_code == 200
    deleted = await client.delete(f"/api/tasks/{task['id']}", headers=people.supervisor)
    assert deleted.status_code == 204

    events = await _task_events(channel, graph.company_id, 4)
    # Worker batches run side by side, so announcements may arrive in any order (pages refetch).
    by_type = {event["type"]: event["data"] for event in events}
    assert sorted(by_type) == ["task.completed", "task.created", "task.deleted", "task.updated"]
    with pytest.raises(TimeoutError):  # a repeated completion or an empty edit: no event
        await _task_events(channel, graph.company_id, 1, within=1.0)
    created, completed, updated, gone = (
        by_type[f"task.{change}"] for change in ("created", "completed", "updated", "deleted")
    )
    assert created == {
        "task_id": task["id"],
        "change": "created",
        "assignee_id": operator,
        "previous_assignee_id": None,
        "created_by": str(graph.supervisor.id),
        "actor_id": str(graph.supervisor.id),
        "conversation_id": str(graph.mine_conversation_id),
        "conversation_assignee_id": operator,
    }
    assert "Segredo" not in orjson.dumps(events).decode()  # ids only, never the text
    assert completed["actor_id"] == operator
    assert (updated["previous_assignee_id"], updated["assignee_id"]) == (operator, other)
    assert (gone["task_id"], gone["assignee_id"]) == (task["id"], other)


async def test_a_refused_change_announces_nothing(
    client: httpx.AsyncClient,
    db: Database,
    factory: Factory,
    live_worker: None,
    channel: PubSub,
) -> None:
    people = await team(client, db, factory)
    task = await create(client, people.operator, title="Minha")
    refused = await client.delete(f"/api/tasks/{task['id']}", headers=people.colleague)
    assert refused.status_code == 404
    marker = await create(client, people.operator, title="Depois")

    events = await _task_events(channel, people.graph.company_id, 2)

    assert sorted((e["type"], e["data"]["task_id"]) for e in events) == sorted(
        [("task.created", task["id"]), ("task.created", marker["id"])]
    )


def _event(**data: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "task_id": str(uuid.uuid4()),
        "change": "updated",
        "assignee_id": None,
        "previous_assignee_id": None,
        "created_by": None,
        "actor_id": None,
        "conversation_id": None,
        "conversation_assignee_id": None,
    }
    return {"type": f"task.{data.get('change', 'updated')}", "data": base | data}


async def test_readers_are_pinged_only_about_tasks_rls_lets_them_see(
    client: httpx.AsyncClient, db: Database, factory: Factory
) -> None:
    people = await team(client, db, factory)
    graph = people.graph
    me = identity_of(graph.operator)
    boss = identity_of(graph.supervisor)
    mine, other = str(graph.operator.id), str(graph.other_operator.id)
    chat = str(uuid.uuid4())
    cases = {
        "assigned to me": (_event(change="created", assignee_id=mine), True),
        "created by me for a colleague": (
            _event(change="created", assignee_id=other, created_by=mine),
            True,
        ),
        "taken from me": (_event(assignee_id=other, previous_assignee_id=mine), True),
        "a colleague's": (_event(change="created", assignee_id=other, created_by=other), False),
        "the pool, no chat": (_event(change="created"), True),
        "the pool, an unassigned chat": (_event(change="created", conversation_id=chat), True),
        "the pool, my chat": (
            _event(change="created", conversation_id=chat, conversation_assignee_id=mine),
            True,
        ),
        "the pool, a colleague's chat": (
            _event(change="created", conversation_id=chat, conversation_assignee_id=other),
            False,
        ),
        "out of the pool to a colleague": (_event(assignee_id=other), True),
        "completed by a colleague, theirs": (
            _event(change="completed", assignee_id=other, created_by=other, actor_id=other),
            False,
        ),
    }
    for name, (event, expected) in cases.items():
        assert live.may_see(me, event) is expected, name
        assert live.may_see(boss, event), name  # supervisors see every task
    assert live.counts_for(me, _event(assignee_id=other, previous_assignee_id=mine))
    assert not live.counts_for(me, _event(assignee_id=other, created_by=mine))


def _page(user: UserFixture, *, tasks: bool) -> PageView:
    return PageView(
        PanelUser(identity_of(user), PanelSession("s", "a", "r", 0.0, "csrf")),
        InboxFilter(),
        None,
        Agents(by_id={}, active=[]),
        tasks=tasks,
    )


async def test_open_pages_fetch_the_badge_and_the_list_again(
    client: httpx.AsyncClient, db: Database, factory: Factory
) -> None:
    people: Team = await team(client, db, factory)
    graph = people.graph
    mine, other = str(graph.operator.id), str(graph.other_operator.id)
    by_colleague = _event(change="created", assignee_id=mine, created_by=other, actor_id=other)
    by_me = _event(change="completed", assignee_id=mine, created_by=mine, actor_id=mine)
    theirs = _event(change="created", assignee_id=other, created_by=other, actor_id=other)

    tasks_page = _page(graph.operator, tasks=True)
    html = tasks_page.fragments(by_colleague)
    assert BADGE_LOADER in html
    assert LIST_LOADER in html
    assert 'hx-get="/panel/tasks/list" hx-include="#task-filters"' in html
    assert 'hx-swap-oob="true"' in html
    own = tasks_page.fragments(by_me)
    assert BADGE_LOADER in own
    assert LIST_LOADER not in own  # the page already shows its own change
    assert tasks_page.fragments(theirs) == ""

    elsewhere = _page(graph.operator, tasks=False).fragments(by_colleague)
    assert BADGE_LOADER in elsewhere
    assert LIST_LOADER not in elsewhere
    supervisor_list = _page(graph.supervisor, tasks=True).fragments(theirs)
    assert LIST_LOADER in supervisor_list
    assert BADGE_LOADER not in supervisor_list  # not their task: their count stays
