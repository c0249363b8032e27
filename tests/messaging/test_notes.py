"""Private notes in conversations: stored and listed for whoever sees the chat, announced live
to the same people, shown in the contact's timeline, and never queued for WhatsApp."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import pytest
from sqlalchemy import text

from tests.conftest import Factory, UserFixture, identity_of, login
from tests.evolution.harness import Instance, new_instance, rows
from tests.live import SseReader, token_headers
from tests.messaging.chats import assign, customer_writes, stream_payloads
from zapcrm.db import Database
from zapcrm.messaging.service import notes as notes_service
from zapcrm.messaging.service.outbound import OUTGOING_STREAM
from zapcrm.models import Role
from zapcrm.outbox import INCOMING_STREAM
from zapcrm.runtime import Runtime


async def _conversation(
    client: httpx.AsyncClient, db: Database, instance: Instance, key_id: str, number: str
) -> uuid.UUID:
    """Rita, at `number`, writes to the instance; returns her conversation's id."""
    conversation_id: uuid.UUID = await customer_writes(
        client, db, instance, key_id, phone=number, push_name="Rita"
    )
    return conversation_id


@dataclass
class WatchedChats:
    """Two chats of one company, with a supervisor and an operator reading the live stream:
    `owned` is assigned to `owner`, `free` to nobody; `other` is the operator who reads."""

    http: httpx.AsyncClient  # a client of the live app
    owner: UserFixture
    owned: uuid.UUID
    free: uuid.UUID
    supervisor_reader: SseReader
    other_reader: SseReader
    other: UserFixture | None = None


@pytest.fixture
async def watched_chats(
    live_server: str, live_worker: None, db: Database, factory: Factory
) -> AsyncIterator[WatchedChats]:
    """Two chats of a new company, both readers connected; the worker, which publishes the
    live events, runs while the test lasts."""
    instance = await new_instance(db, factory)
    owner = await factory.user(instance.company_id, Role.OPERATOR)
    other = await factory.user(instance.company_id, Role.OPERATOR)
    supervisor = await factory.user(instance.company_id, Role.SUPERVISOR)
    async with httpx.AsyncClient(base_url=live_server, timeout=10) as http:
        owned = await _conversation(http, db, instance, "NOTE-OWNED", "5511987651004")
        free = await _conversation(http, db, instance, "NOTE-FREE", "5511987651005")
        await assign(db, owned, owner.id)
        supervisor_reader = SseReader(http, await token_headers(http, supervisor))
        other_reader = SseReader(http, await token_headers(http, other))
        try:
            await asyncio.wait_for(
                asyncio.gather(supervisor_reader.ready.wait(), other_reader.ready.wait()), 10
            )
            yield WatchedChats(http, owner, owned, free, supervisor_reader, other_reader, other)
        finally:
            await supervisor_reader.close()
            await other_reader.close()


async def test_a_note_is_stored_listed_and_never_queued_for_whatsapp(
    client: httpx.AsyncClient, db: Database, factory: Factory, runtime: Runtime
) -> None:
    instance = await new_instance(db, factory)
    conversation_id = await _conversation(client, db, instance, "NOTE1", "5511987651001")
    operator = await factory.user(instance.company_id, Role.OPERATOR)
    await assign(db, conversation_id, operator.id)
    headers = await login(client, operator)
    url = f"/api/conversations/{conversation_id}/notes"

    first = await client.post(
        url, json={"body": "  Cliente prefere entrega à tarde  "}, headers=headers
    )
    assert first.status_code == 201, first.text
    note = first.json()
    assert note["body"] == "Cliente prefere entrega à tarde"
    assert (note["author_id"], note["author_name"]) == (str(operator.id), "operator teste")
    assert note["conversation_id"] == str(conversation_id)
    second = await client.post(url, json={"body": "Pagamento confirmado"}, headers=headers)
    listed = await client.get(url, headers=headers)
    assert listed.status_code == 200
    assert [n["id"] for n in listed.json()] == [second.json()["id"], note["id"]]  # newest first
    assert [
        n["id"] for n in (await client.get(url, params={"limit": 1}, headers=headers)).json()
    ] == [second.json()["id"]]

    # Announced through the outbox like every live event; nothing for the gateway.
    announced = [
        p for p in await stream_payloads(runtime, INCOMING_STREAM) if p.get("kind") == "note"
    ]
    assert {p["note_id"] for p in announced} >= {note["id"], second.json()["id"]}
    outgoing = await stream_payloads(runtime, OUTGOING_STREAM)
    assert not [p for p in outgoing if p.get("instance_id") == str(instance.instance_id)]
    messages = await rows(
        db,
        "select from_me, body from evolution_messages where conversation_id = :c",
        c=conversation_id,
    )
    assert messages == [{"from_me": False, "body": "oi"}]  # only the customer's message

    conversation = await client.get(f"/api/conversations/{conversation_id}", headers=headers)
    assert conversation.json()["last_message_preview"] == "oi"  # a note is not a message


async def test_note_body_is_validated(
    client: httpx.AsyncClient, db: Database, factory: Factory
) -> None:
    instance = await new_instance(db, factory)
    conversation_id = await _conversation(client, db, instance, "NOTE2", "5511987651002")
    headers = await login(client, await factory.user(instance.company_id, Role.SUPERVISOR))
    url = f"/api/conversations/{conversation_id}/notes"
    for body in ({"body": " \n "}, {"body": "x" * 4097}, {"body": ""}, {}):
        response = await client.post(url, json=body, headers=headers)
        assert response.status_code == 422, body
        assert [f["field"] for f in response.json()["error"]["fields"]] == ["body"], body
    assert (await client.get(url, headers=headers)).json() == []


async def test_notes_follow_the_conversations_visibility(
    client: httpx.AsyncClient, db: Database, factory: Factory
) -> None:
    instance = await new_instance(db, factory)
    conversation_id = await _conversation(client, db, instance, "NOTE3", "5511987651003")
    owner = await factory.user(instance.company_id, Role.OPERATOR)
    colleague = await login(client, await factory.user(instance.company_id, Role.OPERATOR))
    supervisor = await login(client, await factory.user(instance.company_id, Role.SUPERVISOR))
    url = f"/api/conversations/{conversation_id}/notes"

    # Unassigned: every operator sees the chat, so anyone may note it.
    free = await client.post(url, json={"body": "Sem dono ainda"}, headers=colleague)
    assert free.status_code == 201
    await assign(db, conversation_id, owner.id)
    owners = await login(client, owner)
    assert (await client.post(url, json={"body": "É meu"}, headers=owners)).status_code == 201

    # Now it is the owner's: the colleague can neither read nor add notes, as if it did not exist.
    assert (await client.get(url, headers=colleague)).status_code == 404
    refused = await client.post(url, json={"body": "intrometido"}, headers=colleague)
    assert refused.status_code == 404
    assert [n["body"] for n in (await client.get(url, headers=supervisor)).json()] == [
        "É meu",
        "Sem dono ainda",
    ]
    stranger = await login(client, await factory.user(await factory.company(), Role.ADMIN))
    assert (await client.get(url, headers=stranger)).status_code == 404
    assert (await client.post(url, json={"body": "x"}, headers=stranger)).status_code == 404
    unknown = f"/api/conversations/{uuid.uuid4()}/notes"
    assert (await client.get(unknown, headers=supervisor)).status_code == 404

    # The contact's timeline shows the notes to those who see the chat, and only to them.
    [contact] = await rows(
        db, "select contact_id from evolution_conversations where id = :c", c=conversation_id
    )
    history = f"/api/contacts/{contact['contact_id']}/history"

    async def timeline_notes(headers: dict[str, str]) -> list[str]:
        response = await client.get(history, headers=headers)
        assert response.status_code == 200, response.text
        return [item["text"] for item in response.json()["items"] if item["kind"] == "note"]

    assert await timeline_notes(supervisor) == ["É meu", "Sem dono ainda"]
    assert await timeline_notes(owners) == ["É meu", "Sem dono ainda"]
    assert await timeline_notes(colleague) == []


async def test_note_created_is_live_for_whoever_sees_the_chat_only(
    watched_chats: WatchedChats,
) -> None:
    http, owner = watched_chats.http, watched_chats.owner
    owned, free = watched_chats.owned, watched_chats.free
    supervisor_reader, other_reader = watched_chats.supervisor_reader, watched_chats.other_reader
    owner_headers = await token_headers(http, owner)
    private = await http.post(
        f"/api/conversations/{owned}/notes", json={"body": "Só nós"}, headers=owner_headers
    )
    assert private.status_code == 201, private.text
    seen = await supervisor_reader.wait_for(lambda e: e["type"] == "note.created")
    assert seen["conversation_id"] == str(owned)
    assert seen["assignee_id"] == str(owner.id)
    assert seen["data"]["note"]["body"] == "Só nós"
    assert seen["data"]["note"]["author_name"] == "operator teste"

    # A later note in an unassigned chat reaches the other operator: by then the first
    # one would have arrived too, had it been sent to them.
    public = await http.post(
        f"/api/conversations/{free}/notes", json={"body": "Para todos"}, headers=owner_headers
    )
    assert public.status_code == 201
    await other_reader.wait_for(
        lambda e: e["type"] == "note.created" and e["data"]["note"]["body"] == "Para todos"
    )
    await supervisor_reader.wait_for(
        lambda e: e["type"] == "note.created" and e["data"]["note"]["body"] == "Para todos"
    )
    assert [
        e["data"]["note"]["body"] for e in other_reader.events if e["type"] == "note.created"
    ] == ["Para todos"]


async def test_a_note_is_changed_only_by_its_author_or_a_supervisor(
    client: httpx.AsyncClient, db: Database, factory: Factory, runtime: Runtime
) -> None:
    # A group of our own that never reads keeps the stream's new entries from being trimmed
    # by a worker another test of this process left running.
    await runtime.redis.xgroup_create(INCOMING_STREAM, "test-notes-pin", id="$", mkstream=True)
    try:
        await _notes_change_only_by_author_or_supervisor(client, db, factory, runtime)
    finally:
        await runtime.redis.xgroup_destroy(INCOMING_STREAM, "test-notes-pin")


async def _notes_change_only_by_author_or_supervisor(
    client: httpx.AsyncClient, db: Database, factory: Factory, runtime: Runtime
) -> None:
    instance = await new_instance(db, factory)
    conversation_id = await _conversation(client, db, instance, "NOTE6", "5511987651006")
    author = await login(client, await factory.user(instance.company_id, Role.OPERATOR))
    # The chat is unassigned: the colleague sees the note, but it is not theirs to change.
    colleague = await login(client, await factory.user(instance.company_id, Role.OPERATOR))
    supervisor = await login(client, await factory.user(instance.company_id, Role.SUPERVISOR))
    admin = await login(client, await factory.user(instance.company_id, Role.ADMIN))
    url = f"/api/conversations/{conversation_id}/notes"
    note = (await client.post(url, json={"body": "Entregar às 15h"}, headers=author)).json()
    other = (await client.post(url, json={"body": "Cliente VIP"}, headers=author)).json()
    note_url, other_url = f"/api/notes/{note['id']}", f"/api/notes/{other['id']}"

    for attempt in (
        client.patch(note_url, json={"body": "intrometida"}, headers=colleague),
        client.delete(note_url, headers=colleague),
    ):
        refused = await attempt
        assert refused.status_code == 403
        assert "quem escreveu a nota" in refused.json()["error"]["message"]

    unchanged = await client.patch(note_url, json={"body": "Entregar às 15h"}, headers=author)
    assert unchanged.json()["edited_at"] is None  # the same text is no edit
    edited = await client.patch(note_url, json={"body": " Entregar às 16h "}, headers=author)
    assert edited.status_code == 200, edited.text
    assert edited.json()["body"] == "Entregar às 16h"
    assert edited.json()["edited_at"] is not None
    assert edited.json()["author_id"] == note["author_id"]  # still the author's note
    by_supervisor = await client.patch(
        note_url, json={"body": "Entregar às 17h"}, headers=supervisor
    )
    assert by_supervisor.status_code == 200
    empty = await client.patch(note_url, json={"body": "  "}, headers=author)
    assert empty.status_code == 422

    assert (await client.delete(other_url, headers=admin)).status_code == 204
    assert (await client.delete(other_url, headers=admin)).status_code == 404
    listed = await client.get(url, headers=colleague)
    assert [(n["id"], n["body"]) for n in listed.json()] == [(note["id"], "Entregar às 17h")]
    assert (await client.delete(note_url, headers=author)).status_code == 204
    assert (await client.get(url, headers=colleague)).json() == []

    announced = [
        (p["change"], p["note_id"])
        for p in await stream_payloads(runtime, INCOMING_STREAM)
        if p.get("kind") == "note" and p.get("note_id") in (note["id"], other["id"])
    ]
    assert announced == [
        ("created", note["id"]),
        ("created", other["id"]),
        ("updated", note["id"]),
        ("updated", note["id"]),
        ("deleted", other["id"]),
        ("deleted", note["id"]),
    ]


async def test_a_note_in_a_chat_one_cannot_see_cannot_be_changed(
    client: httpx.AsyncClient, db: Database, factory: Factory
) -> None:
    instance = await new_instance(db, factory)
    conversation_id = await _conversation(client, db, instance, "NOTE7", "5511987651007")
    author = await factory.user(instance.company_id, Role.OPERATOR)
    author_headers = await login(client, author)
    note = (
        await client.post(
            f"/api/conversations/{conversation_id}/notes",
            json={"body": "Antes da transferência"},
            headers=author_headers,
        )
    ).json()
    # The chat moves to a colleague: its notes leave the author's sight, and their reach.
    await assign(db, conversation_id, (await factory.user(instance.company_id, Role.OPERATOR)).id)
    note_url = f"/api/notes/{note['id']}"
    assert (
        await client.patch(note_url, json={"body": "x"}, headers=author_headers)
    ).status_code == 404
    assert (await client.delete(note_url, headers=author_headers)).status_code == 404
    stranger = await login(client, await factory.user(await factory.company(), Role.ADMIN))
    assert (await client.delete(note_url, headers=stranger)).status_code == 404
    assert (
        await client.delete(f"/api/notes/{uuid.uuid4()}", headers=author_headers)
    ).status_code == 404
    assert await rows(db, "select body from conversation_notes where id = :id", id=note["id"]) == [
        {"body": "Antes da transferência"}
    ]


async def test_note_edits_and_deletions_are_live_for_whoever_sees_the_chat(
    watched_chats: WatchedChats,
) -> None:
    http, owner = watched_chats.http, watched_chats.owner
    owned, free = watched_chats.owned, watched_chats.free
    supervisor_reader, other_reader = watched_chats.supervisor_reader, watched_chats.other_reader
    headers = await token_headers(http, owner)
    private = (
        await http.post(f"/api/conversations/{owned}/notes", json={"body": "a"}, headers=headers)
    ).json()
    assert (
        await http.patch(f"/api/notes/{private['id']}", json={"body": "b"}, headers=headers)
    ).status_code == 200
    updated = await supervisor_reader.wait_for(lambda e: e["type"] == "note.updated")
    assert (updated["conversation_id"], updated["assignee_id"]) == (str(owned), str(owner.id))
    assert updated["data"]["note"]["body"] == "b"
    assert (await http.delete(f"/api/notes/{private['id']}", headers=headers)).status_code == 204
    deleted = await supervisor_reader.wait_for(lambda e: e["type"] == "note.deleted")
    assert deleted["data"] == {"note_id": private["id"]}
    assert deleted["assignee_id"] == str(owner.id)

    # A later deletion in an unassigned chat reaches the other operator, who never got the
    # private chat's events.
    public = (
        await http.post(f"/api/conversations/{free}/notes", json={"body": "c"}, headers=headers)
    ).json()
    assert (await http.delete(f"/api/notes/{public['id']}", headers=headers)).status_code == 204
    await other_reader.wait_for(
        lambda e: e["type"] == "note.deleted" and e["data"]["note_id"] == public["id"]
    )
    assert not [e for e in other_reader.events if e.get("conversation_id") == str(owned)]


async def test_a_colleague_named_with_at_hears_of_the_note_where_they_may_see_it(
    watched_chats: WatchedChats,
) -> None:
    http, owner, other = watched_chats.http, watched_chats.owner, watched_chats.other
    assert other is not None
    handle = other.email.split("@")[0]  # e-mails are unique; the test users share a name
    headers = await token_headers(http, owner)
    # In the owner's own chat the other operator cannot look: the stream keeps it from them.
    await http.post(
        f"/api/conversations/{watched_chats.owned}/notes",
        json={"body": f"@{handle} isto é meu"},
        headers=headers,
    )
    written = await http.post(
        f"/api/conversations/{watched_chats.free}/notes",
        json={"body": f"@{handle.upper()}, pode ver o pedido? @{owner.email.split('@')[0]}"},
        headers=headers,
    )
    assert written.status_code == 201, written.text
    seen = await watched_chats.other_reader.wait_for(
        lambda e: e["type"] == "note.created" and e["conversation_id"] == str(watched_chats.free)
    )
    assert seen["data"]["mentioned"] == [str(other.id)]  # never the author
    supervisor_copy = await watched_chats.supervisor_reader.wait_for(
        lambda e: e["type"] == "note.created" and e["conversation_id"] == str(watched_chats.free)
    )
    assert supervisor_copy["data"]["mentioned"] == [str(other.id)]
    assert [
        e["conversation_id"]
        for e in watched_chats.other_reader.events
        if e["type"] == "note.created"
    ] == [str(watched_chats.free)]


async def test_mentions_match_first_names_without_accents_and_edits_announce_only_the_new(
    client: httpx.AsyncClient, db: Database, factory: Factory
) -> None:
    instance = await new_instance(db, factory)
    conversation_id = await _conversation(client, db, instance, "NOTE-AT", "5511987651009")
    company = instance.company_id
    author = await factory.user(company, Role.SUPERVISOR)
    joao = await factory.user(company, Role.OPERATOR)
    ana = await factory.user(company, Role.OPERATOR)
    gone = await factory.user(company, Role.OPERATOR)
    async with db.service_session() as session:
        for user, name, active in (
            (author, "Ana Autora", True),  # the author shares Ana's first name
            (joao, "João Silva", True),
            (ana, "Ana Souza", True),
            (gone, "Joana Saiu", False),
        ):
            await session.execute(
                text("update profiles set display_name = :n, active = :a where id = :id"),
                {"n": name, "a": active, "id": user.id},
            )
    actor = identity_of(author)
    async with db.tenant_session(actor.claims) as session:
        note, [announced] = await notes_service.add_note(
            session, actor, conversation_id, "@joao e @ANA, vejam; @joana também; e-mail a@b.com"
        )
    assert sorted(announced.payload["mentioned"]) == sorted([str(joao.id), str(ana.id)])
    async with db.tenant_session(actor.claims) as session:
        _edited, [again] = await notes_service.edit_note(
            session, actor, note.id, "@joao e @ANA, vejam; @joana também; e @ana de novo"
        )
    assert "mentioned" not in again.payload  # nobody new
    async with db.tenant_session(actor.claims) as session:
        _plain, [quiet] = await notes_service.add_note(
            session, actor, conversation_id, "sem menção, só um e-mail: joao@loja.com"
        )
    assert "mentioned" not in quiet.payload
