"""Hostile input and failing dependencies never become a 500 or a partial write."""

from __future__ import annotations

import asyncio
import copy
import random
from typing import Any

import httpx
import psycopg
import pytest
from sqlalchemy import text

from tests.conftest import Factory
from tests.evolution.harness import (
    fixture_names,
    load_fixture,
    new_instance,
    post,
    rows,
    text_message,
)
from zapcrm.app import create_app
from zapcrm.config import Settings
from zapcrm.db import Database
from zapcrm.evolution.payloads import STATUS_RANK, status_advances

HOSTILE_VALUES: list[Any] = [
    None,
    "",
    "\x00\x00",
    "a\u0000b",
    "<script>alert(1)</script>",
    "x" * 20_000,
    "😀" * 500,
    -1,
    0,
    2**70,
    -(2**70),
    1.5e308,
    True,
    [],
    [None, {"a": [1]}],
    {},
    {"low": 2**40, "high": -5, "unsigned": "yes"},
    {"0": 999, "1": -3},
    "'; drop table evolution_messages; --",
    "99999999999999999999999999@s.whatsapp.net",
    "@lid",
    ":75@s.whatsapp.net",
]


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix] if prefix else []
    if isinstance(value, dict):
        for key, item in value.items():
            found += _paths(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found += _paths(item, (*prefix, index))
    return found


def _set(document: Any, path: tuple[Any, ...], value: Any) -> None:
    for part in path[:-1]:
        document = document[part]
    document[path[-1]] = value


async def _company_rows(db: Database, company_id: object) -> tuple[int, ...]:
    counts = []
    # The outbox is left out: published rows are deleted in the background at any moment.
    for table in ("evolution_messages", "evolution_conversations", "contacts",
                  "evolution_pending_updates", "contact_identities"):  # fmt: skip
        result = await rows(
            db, f"select count(*) as n from {table} where company_id = :c", c=company_id
        )
        counts.append(int(result[0]["n"]))
    return tuple(counts)


async def test_mutated_fixtures_never_500_and_400_writes_nothing(
    client: httpx.AsyncClient, db: Database, factory: Factory
) -> None:
    rng = random.Random(20261127)
    handled = [name for name in fixture_names() if not name.startswith(("call", "chats", "labels"))]
    instance = await new_instance(db, factory)
    statuses: dict[int, int] = {}
    for attempt in range(400):
        document = load_fixture(rng.choice(handled))
        envelope = instance.envelope(document["envelope"])
        data_paths = _paths(envelope["data"], ("data",))
        body = copy.deepcopy(envelope)
        for path in rng.sample(data_paths, k=min(len(data_paths), rng.randint(1, 4))):
            try:
                _set(body, path, rng.choice(HOSTILE_VALUES))
            except (KeyError, IndexError, TypeError):
                continue  # an earlier mutation replaced a parent
        before = await _company_rows(db, instance.company_id)
        response = await post(client, body)
        statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
        assert response.status_code in (200, 400), (attempt, response.text[:500])
        if response.status_code == 400:
            assert await _company_rows(db, instance.company_id) == before
    # Both paths were exercised, not just one.
    assert statuses.get(200, 0) > 50, statuses
    assert statuses.get(400, 0) > 10, statuses


async def test_sql_status_rule_matches_python(db: Database) -> None:
    names = [*STATUS_RANK, "DELETED", "nonsense", None]
    async with db.service_session() as session:
        for current in names:
            for new in names:
                result = await session.execute(
                    text("select coalesce(app.status_advances(:c, :n), false)"),
                    {"c": current, "n": new},
                )
                assert result.scalar_one() is status_advances(current, new), (current, new)


async def test_postgres_unavailable_answers_503_so_evolution_retries(
    settings: Settings,
) -> None:
    down = settings.model_copy(
        update={"database_url": "postgresql+psycopg://postgres@127.0.0.1:1/zapcrm"}
    )
    app = create_app(down)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
            envelope = load_fixture("messages.upsert__text.json")["envelope"]
            response = await post(http, {**envelope, "apikey": "whatever-token"})
    assert response.status_code == 503
    assert response.headers["Retry-After"]


@pytest.mark.parametrize("size", [70 * 1024 * 1024])
async def test_bodies_over_the_webhook_limit_are_413(client: httpx.AsyncClient, size: int) -> None:
    response = await client.post(
        "/webhooks/evolution",
        content=b"{" + b" " * 10 + b"}",
        headers={"content-type": "application/json", "content-length": str(size)},
    )
    assert response.status_code == 413


async def test_a_delivery_chosen_as_deadlock_victim_is_stored_again_not_answered_503(
    client: httpx.AsyncClient, db: Database, factory: Factory, settings: Settings
) -> None:
    """Evolution before 2.2.1 never retries a delivery: a 503 for a deadlock lost the message.

    A second session locks the chat's row first and then writes the identity key the delivery
    has just written for the chat's new contact: each waits on the other, and Postgres aborts
    the delivery (it waited first). It must run again and be stored once."""
    instance = await new_instance(db, factory)
    jid = "5511987650004@s.whatsapp.net"
    async with db.service_session() as session:
        # A chat known before its contact: the delivery creates the contact and its keys,
        # then takes the chat's row.
        chat = (
            await session.execute(
                text(
                    "insert into evolution_conversations (company_id, instance_id, remote_jid)"
                    " values (:c, :i, :j) returning id"
                ),
                {"c": instance.company_id, "i": instance.instance_id, "j": jid},
            )
        ).scalar_one()
        other = (
            await session.execute(
                text("insert into contacts (company_id, name) values (:c, 'Outro') returning id"),
                {"c": instance.company_id},
            )
        ).scalar_one()
    async with await psycopg.AsyncConnection.connect(settings.libpq_url) as blocker:
        await blocker.execute(
            "select 1 from evolution_conversations where id = %s for update", (chat,)
        )
        delivery = asyncio.create_task(
            post(client, instance.envelope(text_message("DEADLOCKED1", remote_jid=jid)))
        )
        await _until_a_session_waits_on_a_lock(settings.libpq_url, blocker.info.backend_pid)
        await blocker.execute(
            "insert into contact_identities (company_id, contact_id, kind, value)"
            " values (%s, %s, 'jid', %s)",
            (instance.company_id, other, jid),
        )
        await blocker.rollback()  # the victim's second run then goes through
        response = await asyncio.wait_for(delivery, 30)
    assert response.status_code == 200, response.text
    stored = await rows(
        db, "select conversation_id from evolution_messages where key_id = 'DEADLOCKED1'"
    )
    assert stored == [{"conversation_id": chat}]


async def _until_a_session_waits_on_a_lock(url: str, besides: int) -> None:
    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as watcher:
        for _ in range(200):
            row = await (
                await watcher.execute(
                    "select count(*) from pg_stat_activity where datname = current_database()"
                    " and wait_event_type = 'Lock' and pid <> %s",
                    (besides,),
                )
            ).fetchone()
            if row and row[0]:
                return
            await asyncio.sleep(0.05)
    raise AssertionError("the delivery never waited on the chat's row")
