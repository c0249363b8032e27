"""Inbox API: filters, keyset pagination, RLS-driven visibility, message pages and the cache."""

from __future__ import annotations

import httpx
from sqlalchemy import text

from tests.conftest import Factory, login
from tests.evolution.harness import Instance, new_instance, post, text_message
from tests.messaging.inbox_search import SEARCHES, searchable_chats
from zapcrm.db import Database
from zapcrm.models import Role


async def _conversations(client: httpx.AsyncClient, instance: Instance, count: int) -> None:
    for index in range(count):
        body = text_message(
            f"INBOX{index}",
            remote_jid=f"55119876500{index:02d}@s.whatsapp.net",
            timestamp=1763300000 + index,
        )
        assert (await post(client, instance.envelope(body))).status_code == 200


async def test_keyset_pagination_walks_every_conversation_once(
    client: httpx.AsyncClient, db: Database, factory: Factory
) -> None:
    instance = await new_instance(db, factory)
    await _conversations(client, instance, 7)
    headers = await login(client, await factory.user(instance.company_id, Role.SUPERVISOR))
    seen: list[str] = []
    cursor = None
    while True:
        params: dict[str, str | int] = {"limit": 3}
        if cursor:
            params["cursor"] = cursor
        page = (await client.get("/api/conversations", params=params, headers=headers)).json()
        seen += [item["id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == 7
    assert len(set(seen)) == 7
    tampered = await client.get("/api/conversations", params={"cursor": "nope"}, headers=headers)
    assert tampered.status_code == 400


async def test_filters_and_operator_visibility(
    client: httpx.AsyncClient, db: Database, factory: Factory
) -> None:
    instance = await new_instance(db, factory)
    await _conversations(client, instance, 3)
    operator = await factory.user(instance.company_id, Role.OPERATOR)
    colleague = await factory.user(instance.company_id, Role.OPERATOR)
    async with db.service_session() as session:
        ids = [
            row[0]
            for row in await session.execute(
                text(
                    "select id from evolution_conversations where instance_id = :i"
                    " order by last_message_at"
                ),
                {"i": instance.instance_id},
            )
        ]
        await session.execute(
            text("update evolution_conversations set assignee_id = :a where id = :id"),
            {"a": operator.id, "id": ids[0]},
        )
        await session.execute(
            text(
                "update evolution_conversations set assignee_id = :a, status = 'closed'"
                " where id = :id"
            ),
            {"a": colleague.id, "id": ids[1]},
        )
    headers = await login(client, operator)

    async def listed(**params: str) -> set[str]:
        response = await client.get("/api/conversations", params=params, headers=headers)
        assert response.status_code == 200, response.text
        return {item["id"] for item in response.json()["items"]}

    assert await listed() == {str(ids[0]), str(ids[2])}
    assert await listed(assignee="me") == {str(ids[0])}
    assert await listed(assignee="unassigned") == {str(ids[2])}
    assert await listed(status="closed") == set()  # the closed one is the colleague's
    assert await listed(instance_id=str(instance.instance_id)) == {str(ids[0]), str(ids[2])}
    bad = await client.get("/api/conversations", params={"assignee": "x"}, headers=headers)
    assert bad.status_code == 422
    hidden = await client.get(f"/api/conversations/{ids[1]}", headers=headers)
    assert hidden.status_code == 404


async def test_message_pages_newest_first_with_cursor(
    client: httpx.AsyncClient, db: Database, factory: Factory
) -> None:
    instance = await new_instance(db, factory)
    for index in range(5):
        body = text_message(f"PAGE{index}", text_body=f"msg {index}", timestamp=1763300000 + index)
        await post(client, instance.envelope(body))
    headers = await login(client, await factory.user(instance.company_id, Role.ADMIN))
    conversation = (await client.get("/api/conversations", headers=headers)).json()["items"][0]
    url = f"/api/conversations/{conversation['id']}/messages"
    first = (await client.get(url, params={"limit": 2}, headers=headers)).json()
    assert [m["body"] for m in first["items"]] == ["msg 4", "msg 3"]
    second = (
        await client.get(url, params={"limit": 2, "cursor": first["next_cursor"]}, headers=headers)
    ).json()
    assert [m["body"] for m in second["items"]] == ["msg 2", "msg 1"]
    unknown = await client.get(
        "/api/conversations/00000000-0000-0000-0000-000000000000/messages", headers=headers
    )
    assert unknown.status_code == 404


async def test_search_by_name_accent_free_by_phone_digits_and_literal_wildcards(
    client: httpx.AsyncClient, db: Database, factory: Factory
) -> None:
    instance = await new_instance(db, factory)
    people = [
        ("5511987650001", "João Araújo"),
        ("5521987650002", "Maria 100%"),
        ("5531987650003", "Zé"),
    ]
    for index, (number, name) in enumerate(people):
        body = text_message(f"SEARCH{index}", remote_jid=f"{number}@s.whatsapp.net", push_name=name)
        assert (await post(client, instance.envelope(body))).status_code == 200
    headers = await login(client, await factory.user(instance.company_id, Role.SUPERVISOR))

    async def names(q: str) -> list[str]:
        response = await client.get("/api/conversations", params={"q": q}, headers=headers)
        assert response.status_code == 200, response.text
        return sorted(item["contact"]["name"] for item in response.json()["items"])

    assert await names("joao araujo") == ["João Araújo"]
    assert await names("ARAÚ") == ["João Araújo"]
    assert await names("(21) 98765") == ["Maria 100%"]
    assert await names("100%") == ["Maria 100%"]
    assert await names("%") == []  # a typed % is text (a short word: at a word's start)
    assert await names("nobody") == []


async def test_search_finds_every_word_in_any_order_with_typos_as_the_contacts_search_does(
    client: httpx.AsyncClient, db: Database, factory: Factory
) -> None:
    instance = await searchable_chats(client, db, factory)
    headers = await login(client, await factory.user(instance.company_id, Role.SUPERVISOR))

    async def found(q: str) -> list[str]:
        response = await client.get("/api/conversations", params={"q": q}, headers=headers)
        assert response.status_code == 200, response.text
        items = response.json()["items"]
        return sorted(item["subject"] or item["contact"]["name"] for item in items)

    for q, expected in SEARCHES.items():
        assert await found(q) == expected, q


async def test_messages_of_one_second_keep_the_order_they_arrived_in(
    client: httpx.AsyncClient, db: Database, factory: Factory
) -> None:
    # WhatsApp times messages in whole seconds; a customer's burst shares one.
    instance = await new_instance(db, factory)
    burst = [f"parte {index}" for index in range(8)]
    for index, words in enumerate(burst):
        body = text_message(f"BURST{index}", text_body=words, timestamp=1763300000)
        assert (await post(client, instance.envelope(body))).status_code == 200
    headers = await login(client, await factory.user(instance.company_id, Role.SUPERVISOR))
    conversation = (await client.get("/api/conversations", headers=headers)).json()["items"][0]
    for _attempt in ("database", "cache"):
        page = await client.get(
            f"/api/conversations/{conversation['id']}/messages", headers=headers
        )
        assert [item["body"] for item in page.json()["items"]] == burst[::-1]
