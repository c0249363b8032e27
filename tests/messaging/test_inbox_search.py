"""The inbox search reads only the chats it may find (migration 0049), and still only those the
caller may see: its candidates come from a tenant view, the rows it lists from the table under
RLS."""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest
from sqlalchemy import event, text

from tests.conftest import Factory, login
from tests.evolution.harness import new_instance, post, text_message
from tests.messaging.inbox_search import GROUP_JID, GROUP_SUBJECT, PEOPLE, searchable_chats
from tests.name_typos import generated_names, typed_words, use_strict_threshold
from zapcrm.auth.identity import Identity
from zapcrm.db import Database
from zapcrm.kit.name_search import allows_typo, like_patterns
from zapcrm.messaging import repository
from zapcrm.messaging.service import inbox
from zapcrm.models import Role

_CROWD = 5000


@contextmanager
def _statements(db: Database) -> Iterator[list[tuple[str, Any]]]:
    """The statements sent through the engine meanwhile, with their parameters."""
    sent: list[tuple[str, Any]] = []

    def record(*args: Any) -> None:
        _connection, _cursor, statement, parameters = args[:4]
        sent.append((statement, parameters))

    event.listen(db.engine.sync_engine, "before_cursor_execute", record)
    try:
        yield sent
    finally:
        event.remove(db.engine.sync_engine, "before_cursor_execute", record)


async def _crowded_company(db: Database, factory: Factory) -> tuple[uuid.UUID, uuid.UUID]:
    """A company with _CROWD chats with people and a group among them, analysed."""
    instance = await new_instance(db, factory)
    async with db.service_session() as session:
        await session.execute(
            text(
                "insert into contacts (company_id, name, phone_e164)"
                " select :company, 'Cliente ' || g, '+55119' || lpad(g::text, 8, '0')"
                " from generate_series(1, :crowd) g"
            ),
            {"company": instance.company_id, "crowd": _CROWD},
        )
        await session.execute(
            text(
                "insert into evolution_conversations (company_id, instance_id, remote_jid,"
                " contact_id, last_message_at)"
                " select ct.company_id, :instance, substr(ct.phone_e164, 2) || '@s.whatsapp.net',"
                " ct.id, now() - (row_number() over () || ' seconds')::interval"
                " from contacts ct where ct.company_id = :company"
            ),
            {"company": instance.company_id, "instance": instance.instance_id},
        )
        await session.execute(
            text(
                "insert into evolution_conversations (company_id, instance_id, remote_jid,"
                " is_group, subject) values (:company, :instance, :jid, true, :subject)"
            ),
            {
                "company": instance.company_id,
                "instance": instance.instance_id,
                "jid": GROUP_JID,
                "subject": GROUP_SUBJECT,
            },
        )
    async with db.engine.connect() as connection:
        # Vacuumed too: rows just written wait in the trigram indexes' pending lists, which a
        # search would read whole, so the planner then rightly prefers other paths.
        autocommit = await connection.execution_options(isolation_level="AUTOCOMMIT")
        await autocommit.execute(text("vacuum analyze contacts, evolution_conversations"))
    supervisor = await factory.user(instance.company_id, Role.SUPERVISOR)
    return instance.company_id, supervisor.id


async def test_a_search_reads_its_candidates_through_the_indexes_under_rls(
    db: Database, factory: Factory
) -> None:
    company, supervisor = await _crowded_company(db, factory)
    claims = {"sub": str(supervisor), "role": "authenticated", "aud": "authenticated"}
    async with db.tenant_session(claims) as session:
        with _statements(db) as sent:
            await repository.list_conversations(
                session,
                company,
                status="open",
                assignee_id=None,
                unassigned=False,
                instance_id=None,
                after=None,
                limit=51,
                search="fornecedores 98765",
            )
        listing = "from evolution_conversations c left join"
        statement, parameters = next(s for s in sent if listing in s[0])
        connection = await session.connection()
        # Forbid sequential scans: the question is whether the indexes CAN be used, which the
        # planner's cost choice on a small table would otherwise hide.
        await connection.exec_driver_sql("set local enable_seqscan = off", ())
        rows = await connection.exec_driver_sql(f"explain {statement}", parameters)
        plan = "\n".join(rows.scalars())
    # The group's subject, the chats' JIDs and the contacts' numbers, each by its own index:
    # before, every open chat was read and checked (bench/panel.py). The numbers as the
    # Contatos search reads them, by their btrees: their start (with or without +55 and a
    # DDD), their last digits (no trigram index of numbers since migration 0060).
    assert "evolution_conversations_subject_search_idx" in plan, plan
    assert "evolution_conversations_jid_search_idx" in plan, plan
    for index in ("contacts_company_phone_idx", "contacts_local_phone_idx"):
        assert index in plan, plan
    assert "contacts_phone_suffix_idx" in plan, plan


async def test_a_search_finds_only_what_the_operator_may_see(
    client: httpx.AsyncClient, db: Database, factory: Factory
) -> None:
    instance = await searchable_chats(client, db, factory)
    look_alike = await searchable_chats(client, db, factory)  # the same chats, another company
    operator = await factory.user(instance.company_id, Role.OPERATOR)
    colleague = await factory.user(instance.company_id, Role.OPERATOR)
    async with db.service_session() as session:
        # João Silva's chat and the group are the colleague's: the operator may not see them.
        await session.execute(
            text(
                "update evolution_conversations set assignee_id = :colleague"
                " where company_id = :company and (subject is not null or remote_jid like :jid)"
            ),
            {"colleague": colleague.id, "company": instance.company_id, "jid": "5511%"},
        )
    assert look_alike.company_id != instance.company_id

    async def found(user_headers: dict[str, str], q: str) -> list[str]:
        response = await client.get("/api/conversations", params={"q": q}, headers=user_headers)
        assert response.status_code == 200, response.text
        items = response.json()["items"]
        return sorted(item["subject"] or item["contact"]["name"] for item in items)

    as_operator = await login(client, operator)
    as_colleague = await login(client, colleague)
    for q in ("joao silva", "fornecedores", "0001", "98765"):
        # By name, subject, JID or number: one company's chats, and only those RLS shows.
        assert "João Silva" not in await found(as_operator, q), q
        assert GROUP_SUBJECT not in await found(as_operator, q), q
    assert await found(as_operator, "98765") == ["Joana Araújo", "Maria Damasceno"]
    assert await found(as_colleague, "0001") == [GROUP_SUBJECT, "João Silva"]
    everyone = sorted(name for _number, name in PEOPLE)
    assert await found(as_colleague, "98765") == everyone


async def test_pages_of_a_search_found_in_several_ways_list_every_chat_once_newest_first(
    client: httpx.AsyncClient, db: Database, factory: Factory
) -> None:
    # Each way to match (name, subject, number, JID) gives its own page of chats and the list
    # keeps the newest of them: a cursor must move every one of them on.
    instance = await new_instance(db, factory)
    for index in range(6):
        body = text_message(
            f"MANY{index}",
            remote_jid=f"55119777000{index:02d}@s.whatsapp.net",
            push_name=f"Loja 777 {index}" if index % 2 else f"Cliente {index}",
            timestamp=1763300000 + index,
        )
        assert (await post(client, instance.envelope(body))).status_code == 200
    async with db.service_session() as session:
        for index in range(3):
            await session.execute(
                text(
                    "insert into evolution_conversations (company_id, instance_id, remote_jid,"
                    " is_group, subject, last_message_at)"
                    " values (:company, :instance, :jid, true, :subject,"
                    " to_timestamp(:at))"
                ),
                {
                    "company": instance.company_id,
                    "instance": instance.instance_id,
                    "jid": f"12036300000000777{index}@g.us",
                    "subject": f"Grupo 777 {index}",
                    "at": 1763300000 + 10 + index,
                },
            )
    headers = await login(client, await factory.user(instance.company_id, Role.SUPERVISOR))
    everything = await client.get(
        "/api/conversations", params={"q": "777", "limit": 50}, headers=headers
    )
    expected = [item["id"] for item in everything.json()["items"]]
    assert len(expected) == 9  # every chat: 3 groups, 6 numbers (3 also by name)
    seen: list[str] = []
    cursor = None
    while True:
        params: dict[str, str | int] = {"q": "777", "limit": 2}
        if cursor:
            params["cursor"] = cursor
        page = (await client.get("/api/conversations", params=params, headers=headers)).json()
        seen += [item["id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == expected


@pytest.mark.parametrize("threshold", [None, "0.3", "0.7"])
async def test_the_typo_screen_keeps_every_name_the_typo_matches(
    db: Database, threshold: str | None
) -> None:
    """The list's search tests a name's pieces by LIKE before `<<%` (kit/name_search.py
    `typo_screen`): it finds exactly what the words and `<<%` alone find, at pg_trgm's threshold
    or another set in the transaction."""
    rng = random.Random(5)
    names = sorted(set(generated_names(rng, 300)))
    unscreened = text(
        "select t.value, (exists (select from unnest(cast(:likes as text[])) as p(pattern)"
        "   where app.search_text(t.value) like app.search_text(p.pattern))"
        "  or (:typo and app.search_text(:word) <<% app.search_text(t.value))) as found"
        " from unnest(cast(:names as text[])) as t(value)"
    )
    typo_matches = 0
    async with db.service_session() as session:
        await use_strict_threshold(session, threshold)
        for word in typed_words(rng):
            params = {
                "likes": list(like_patterns(word)),
                "typo": allows_typo(word),
                "word": word,
                "names": names,
            }
            expected = {row.value: row.found for row in await session.execute(unscreened, params)}
            assert await repository.search_finds(session, word, names) == expected, word
            typo_matches += sum(expected.values())
    assert typo_matches > 500


async def test_a_typo_in_a_contact_name_is_looked_up_among_the_name_words(
    client: httpx.AsyncClient, db: Database, factory: Factory
) -> None:
    """As in the Contatos search (migration 0057): a common name's thousands of candidates were
    each given to `<<%` (bench/panel.py `silva maria`); now a name holding one of the company's
    name words within a typo of the word, as a whole word, is found. A group's subject is not
    among the name words: it keeps `<<%`."""
    instance = await searchable_chats(client, db, factory)
    user = await factory.user(instance.company_id, Role.SUPERVISOR)
    claims = {"sub": str(user.id), "role": "authenticated", "aud": "authenticated"}
    identity = Identity(
        user_id=user.id,
        company_id=instance.company_id,
        role=Role.SUPERVISOR,
        email="supervisor@example.com",
        display_name="Supervisor",
        session_id=None,
        claims=claims,
    )

    async def found(q: str) -> list[str]:
        async with db.tenant_session(claims) as session:
            page = await inbox.list_conversations(
                session, identity, status="open", assignee="any", instance_id=None,
                cursor=None, limit=50, search=q,
            )  # fmt: skip
        return [chat.subject or (chat.contact.name if chat.contact else "") for chat in page.items]

    with _statements(db) as sent:
        assert await found("joao silvq") == ["João Silva"]
    listing = next(s for s, _ in sent if "from evolution_conversations c left join" in s)
    names = listing.split("app.company_conversations")[0].split("app.company_contacts")[1]
    assert "<<%" not in names
    assert "regexp_like" in names
    assert listing.count("<<%") == 2  # the subject's, for each word of 4+ letters
    # A typo in a group's subject is still found.
    assert await found("fornecedoras") == [GROUP_SUBJECT]
