"""The webhook receiver end to end: authentication, idempotency, ordering, identities."""

from __future__ import annotations

import asyncio
import random

import httpx
import pytest

from tests.conftest import Factory
from tests.evolution.harness import (
    fixture_names,
    load_fixture,
    new_instance,
    post,
    rows,
    status_update,
    text_message,
)
from zapcrm.contacts.identity import WhatsAppPeer, resolve_peer
from zapcrm.db import Database
from zapcrm.evolution.events import HANDLED_EVENTS, IGNORED_EVENTS
from zapcrm.evolution.handlers import HANDLERS


def test_every_handled_event_has_a_handler() -> None:
    assert set(HANDLERS) == set(HANDLED_EVENTS)


@pytest.mark.parametrize("name", fixture_names())
async def test_every_fixture_is_accepted(
    name: str, client: httpx.AsyncClient, db: Database, factory: Factory
) -> None:
    document = load_fixture(name)
    envelope = document["envelope"]
    instance = await new_instance(db, factory, envelope["instance"])
    response = await post(client, instance.envelope(envelope))
    assert response.status_code == 200, response.text
    expected = "stored" if envelope["event"] in HANDLED_EVENTS else "ignored"
    if envelope["event"] not in HANDLED_EVENTS | IGNORED_EVENTS:
        expected = "unknown"
    status = response.json()["status"]
    if envelope["event"] in HANDLED_EVENTS:
        # Updates of messages we never stored are parked, contacts sync stores no outbox entry.
        assert status in ("stored", "duplicate", "live")
    else:
        assert status == expected
    if envelope["event"] in ("messages.upsert", "send.message"):
        key_id = envelope["data"]["key"]["id"]
        stored = await rows(
            db,
            "select m.type, m.raw_payload is not null as has_raw from evolution_messages m"
            " where m.instance_id = :i and m.key_id = :k",
            i=instance.instance_id,
            k=key_id,
        )
        if document["expect"].get("message_type") in ("reaction", "protocol"):
            assert stored == []  # attached to (or applied on) their target instead
        elif document["expect"].get("chat_kind") in ("broadcast", "newsletter"):
            assert stored == []
        else:
            assert len(stored) == 1, document["description"]
            assert stored[0]["has_raw"]


async def test_duplicate_deliveries_store_one_row(
    client: httpx.AsyncClient, db: Database, factory: Factory
) -> None:
    instance = await new_instance(db, factory)
    body = instance.envelope(text_message("DUP0001"))
    answers = await asyncio.gather(*(post(client, body) for _ in range(10)))
    assert [answer.status_code for answer in answers] == [200] * 10
    messages = await rows(
        db, "select id from evolution_messages where instance_id = :i", i=instance.instance_id
    )
    conversations = await rows(
        db,
        "select unread_count from evolution_conversations where instance_id = :i",
        i=instance.instance_id,
    )
    contacts = await rows(
        db, "select id from contacts where company_id = :c", c=instance.company_id
    )
    assert len(messages) == 1
    assert conversations == [{"unread_count": 1}]
    assert len(contacts) == 1


async def test_shuffled_statuses_end_at_the_highest(
    client: httpx.AsyncClient, db: Database, factory: Factory
) -> None:
    instance = await new_instance(db, factory)
    sent = text_message("OUT0001", from_me=True, event="send.message", status="PENDING")
    ladder = ["SERVER_ACK", "DELIVERY_ACK", "READ", "SERVER_ACK", "DELIVERY_ACK"]
    random.Random(7).shuffle(ladder)
    # Some statuses arrive even before the message itself (out-of-order deliveries).
    await post(client, instance.envelope(status_update("OUT0001", ladder[0])))
    await post(client, instance.envelope(sent))
    for status in ladder[1:]:
        await post(client, instance.envelope(status_update("OUT0001", status)))
    stored = await rows(
        db,
        "select m.status, c.last_message_status from evolution_messages m"
        " join evolution_conversations c on c.id = m.conversation_id where m.key_id = 'OUT0001'"
        " and m.instance_id = :i",
        i=instance.instance_id,
    )
    assert stored == [{"status": "READ", "last_message_status": "READ"}]


async def test_error_applies_before_delivery_and_a_later_ack_wins(
    client: httpx.AsyncClient, db: Database, factory: Factory
) -> None:
    instance = await new_instance(db, factory)
    await post(client, instance.envelope(text_message("ERR1", from_me=True, status="PENDING")))
    await post(client, instance.envelope(status_update("ERR1", "ERROR")))
    first = await rows(db, "select status from evolution_messages where key_id = 'ERR1'")
    await post(client, instance.envelope(status_update("ERR1", "DELIVERY_ACK")))
    await post(client, instance.envelope(status_update("ERR1", "ERROR")))
    second = await rows(db, "select status from evolution_messages where key_id = 'ERR1'")
    assert (first, second) == ([{"status": "ERROR"}], [{"status": "DELIVERY_ACK"}])


async def test_wrong_missing_or_unknown_key_is_401_and_writes_nothing(
    client: httpx.AsyncClient, db: Database, factory: Factory
) -> None:
    instance = await new_instance(db, factory)
    good = instance.envelope(text_message("AUTH1"))
    wrong = {**good, "apikey": "not-the-token"}
    missing = {**good, "apikey": None}
    unknown = {**good, "instance": "no-such-instance"}
    for body in (wrong, missing, unknown):
        response = await post(client, body)
        assert response.status_code == 401
        assert "not-the-token" not in response.text
    assert await rows(db, "select 1 from evolution_messages where key_id = 'AUTH1'") == []
    assert await rows(db, "select 1 from outbox where company_id = :c", c=instance.company_id) == []


async def test_null_envelope_apikey_is_taken_from_the_custom_header(
    client: httpx.AsyncClient, db: Database, factory: Factory
) -> None:
    instance = await new_instance(db, factory)
    body = instance.envelope(text_message("HDR1"), with_key=False)
    response = await post(client, body, headers={"apikey": instance.token})
    assert response.status_code == 200
    assert len(await rows(db, "select 1 from evolution_messages where key_id = 'HDR1'")) == 1


async def test_by_events_suffix_must_match_the_body(
    client: httpx.AsyncClient, db: Database, factory: Factory
) -> None:
    instance = await new_instance(db, factory)
    body = instance.envelope(text_message("SFX1"))
    assert (await post(client, body, suffix="messages-upsert")).status_code == 200
    mismatch = await post(client, body, suffix="messages-update")
    assert mismatch.status_code == 400
    assert mismatch.json()["error"]["code"] == "event_mismatch"


async def test_bad_bodies_are_400_and_ignored_events_200(
    client: httpx.AsyncClient, db: Database, factory: Factory
) -> None:
    instance = await new_instance(db, factory)
    assert (await post(client, b"{not json")).status_code == 400
    assert (await post(client, b"[1, 2]")).status_code == 400
    no_key = instance.envelope(text_message("X"))
    del no_key["data"]["key"]
    malformed = await post(client, no_key)
    assert malformed.status_code == 400
    chats = instance.envelope({"event": "chats.upsert", "instance": "x", "data": []})
    ignored = await post(client, chats)
    assert (ignored.status_code, ignored.json()) == (200, {"status": "ignored"})
    novel = instance.envelope({"event": "something.new", "instance": "x", "data": {}})
    unknown = await post(client, novel)
    assert (unknown.status_code, unknown.json()) == (200, {"status": "unknown"})


async def test_ninth_digit_variants_are_one_contact_and_one_conversation(
    client: httpx.AsyncClient, db: Database, factory: Factory
) -> None:
    instance = await new_instance(db, factory)
    # Belo Horizonte (DDD 31): WhatsApp knows the old 12-digit id, the contact gave 13 digits.
    await post(
        client, instance.envelope(text_message("N1", remote_jid="553187654321@s.whatsapp.net"))
    )
    await post(
        client, instance.envelope(text_message("N2", remote_jid="5531987654321@s.whatsapp.net"))
    )
    conversations = await rows(
        db,
        "select remote_jid, unread_count from evolution_conversations where instance_id = :i",
        i=instance.instance_id,
    )
    contacts = await rows(
        db, "select phone_e164 from contacts where company_id = :c", c=instance.company_id
    )
    assert conversations == [{"remote_jid": "5531987654321@s.whatsapp.net", "unread_count": 2}]
    assert contacts == [{"phone_e164": "+5531987654321"}]


async def test_unknown_lid_lands_then_merges_when_the_phone_is_learnt(
    client: httpx.AsyncClient, db: Database, factory: Factory
) -> None:
    instance = await new_instance(db, factory)
    lid = "148392017465823@lid"
    phone = "5511987654321@s.whatsapp.net"
    # The phone is known first from an older PN chat, then a lid-only message arrives.
    await post(client, instance.envelope(text_message("L0", remote_jid=phone)))
    await post(client, instance.envelope(text_message("L1", remote_jid=lid, text_body="sou eu")))
    before = await rows(
        db, "select remote_jid from evolution_conversations where instance_id = :i order by 1",
        i=instance.instance_id,
    )  # fmt: skip
    # Known only by its lid, the person answered SAIR to a campaign and was tagged.
    await rows(
        db,
        "update contacts set opted_out = true, tags = '{vip}' where company_id = :c"
        " and phone_e164 is null returning id",
        c=instance.company_id,
    )
    await post(client, instance.envelope(text_message("L2", remote_jid=lid, alt=phone)))
    after = await rows(
        db,
        "select c.remote_jid, count(m.id) as messages from evolution_conversations c"
        " join evolution_messages m on m.conversation_id = c.id where c.instance_id = :i"
        " group by 1",
        i=instance.instance_id,
    )
    contacts = await rows(
        db,
        "select id, opted_out, tags from contacts where company_id = :c",
        c=instance.company_id,
    )
    merges = await rows(
        db, "select action from audit_log where company_id = :c", c=instance.company_id
    )
    timeline = await rows(
        db, "select kind from contact_events where company_id = :c", c=instance.company_id
    )
    assert before == [{"remote_jid": lid}, {"remote_jid": phone}]
    assert after == [{"remote_jid": phone, "messages": 3}]
    # One person, who still said SAIR: a merge never puts them back in campaigns.
    assert [(c["opted_out"], c["tags"]) for c in contacts] == [(True, ["vip"])]
    assert merges == [{"action": "contact.merged"}]
    assert {"kind": "contact.merged"} in timeline


async def test_edit_delete_and_reaction_even_before_their_message(
    client: httpx.AsyncClient, db: Database, factory: Factory
) -> None:
    instance = await new_instance(db, factory)
    edit = instance.envelope(load_fixture("messages.edited__edit.json")["envelope"])
    target = edit["data"]["key"]["id"] if "key" in edit["data"] else None
    assert (await post(client, edit)).status_code == 200
    parked = await rows(
        db, "select kind from evolution_pending_updates where instance_id = :i",
        i=instance.instance_id,
    )  # fmt: skip
    assert parked == [{"kind": "edit"}]
    del target
    original = load_fixture("messages.edited__edit.json")["expect"]
    message_key = original["key_id"]
    await post(
        client,
        instance.envelope(text_message(message_key, text_body="texto original", from_me=True)),
    )
    stored = await rows(
        db,
        "select body, jsonb_array_length(edit_history) as edits from evolution_messages"
        " where instance_id = :i and key_id = :k",
        i=instance.instance_id,
        k=message_key,
    )
    assert stored == [{"body": original["new_text"], "edits": 1}]
    assert (
        await rows(
            db,
            "select 1 from evolution_pending_updates where instance_id = :i",
            i=instance.instance_id,
        )
        == []
    )


async def test_the_inbox_line_follows_an_edit_or_deletion_of_the_last_message(
    client: httpx.AsyncClient, db: Database, factory: Factory
) -> None:
    instance = await new_instance(db, factory)

    def edit(key_id: str, new_text: str, at_ms: int) -> dict[str, object]:
        body = instance.envelope(load_fixture("messages.edited__edit.json")["envelope"])
        body["data"]["key"]["id"] = key_id
        body["data"]["editedMessage"] = {"conversation": new_text}
        body["data"]["timestampMs"] = str(at_ms)
        return body

    async def preview() -> str:
        found = await rows(
            db, "select last_message_preview from evolution_conversations where instance_id = :i",
            i=instance.instance_id,
        )  # fmt: skip
        return str(found[0]["last_message_preview"])

    await post(client, instance.envelope(text_message("PV1", text_body="Quero 2 unidades")))
    assert (await post(client, edit("PV1", "Quero 3 unidades", 1763326190000))).status_code == 200
    assert await preview() == "Quero 3 unidades"
    later = text_message("PV2", text_body="Obrigada!", timestamp=1763326200)
    await post(client, instance.envelope(later))
    await post(client, edit("PV1", "Quero 4 unidades", 1763326210000))
    assert await preview() == "Obrigada!"  # an older message's edit leaves the line alone
    deletion = instance.envelope(load_fixture("messages.delete__revoke_key.json")["envelope"])
    deletion["data"].update(remoteJid="5511987654321@s.whatsapp.net", id="PV2")
    del deletion["data"]["remoteJidAlt"], deletion["data"]["addressingMode"]
    assert (await post(client, deletion)).status_code == 200
    assert await preview() == "🚫 Mensagem apagada"


async def test_inbound_message_reopens_a_closed_conversation_with_a_new_cycle(
    client: httpx.AsyncClient, db: Database, factory: Factory
) -> None:
    instance = await new_instance(db, factory)
    await post(client, instance.envelope(text_message("R1", timestamp=1763326000)))
    async with db.service_session() as session:
        from sqlalchemy import text

        await session.execute(
            text("update conversation_cycles set closed_at = now() where company_id = :c;"),
            {"c": instance.company_id},
        )
        await session.execute(
            text("update evolution_conversations set status = 'closed', closed_at = now()"
                 " where instance_id = :i"),
            {"i": instance.instance_id},
        )  # fmt: skip
    await post(client, instance.envelope(text_message("R2", timestamp=1763327000)))
    conversation = await rows(
        db, "select status, closed_at from evolution_conversations where instance_id = :i",
        i=instance.instance_id,
    )  # fmt: skip
    cycles = await rows(
        db, "select closed_at is null as open from conversation_cycles where company_id = :c"
        " order by started_at", c=instance.company_id,
    )  # fmt: skip
    assert conversation == [{"status": "open", "closed_at": None}]
    assert cycles == [{"open": False}, {"open": True}]


async def test_a_new_whatsapp_contact_joins_the_lists_whose_rules_it_matches(
    client: httpx.AsyncClient, db: Database, factory: Factory
) -> None:
    instance = await new_instance(db, factory)
    [leads, other] = await rows(
        db,
        "insert into segments (company_id, name, kind) values"
        " (:c, 'Leads do WhatsApp', 'static'), (:c, 'Importados', 'static') returning id",
        c=instance.company_id,
    )
    await rows(
        db,
        "insert into list_rules (company_id, segment_id, name, filter) values"
        " (:c, :leads, 'WhatsApp', :whatsapp), (:c, :other, 'CSV', :csv) returning id",
        c=instance.company_id,
        leads=leads["id"],
        other=other["id"],
        whatsapp='{"field": "source", "operator": "equals", "value": "whatsapp"}',
        csv='{"field": "source", "operator": "equals", "value": "csv"}',
    )
    await post(client, instance.envelope(text_message("N1", text_body="Oi, vi o anúncio")))
    await post(client, instance.envelope(text_message("N2", text_body="Ainda tem?")))
    members = await rows(
        db,
        "select m.segment_id, c.name from segment_members m join contacts c on c.id = m.contact_id"
        " where m.company_id = :c",
        c=instance.company_id,
    )
    assert members == [{"segment_id": leads["id"], "name": "Maria"}]
    # Every way a new number becomes a contact (here a chat the team starts by phone, which
    # creates it before any webhook) goes through resolve_peer, and so through the rules.
    await rows(
        db,
        "update list_rules set filter = :manual where segment_id = :other returning id",
        manual='{"field": "source", "operator": "equals", "value": "manual"}',
        other=other["id"],
    )
    async with db.service_session() as session:
        await resolve_peer(
            session,
            instance.company_id,
            WhatsAppPeer("5511976543210@s.whatsapp.net", None, "Rita"),
            source="manual",
        )
    joined = await rows(
        db,
        "select c.name from segment_members m join contacts c on c.id = m.contact_id"
        " where m.segment_id = :other",
        other=other["id"],
    )
    assert joined == [{"name": "Rita"}]
