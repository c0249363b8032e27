"""The dispatcher, step by step on a controlled clock: one message per step in the person's
chat, skips, the window, caps, batch pauses, automatic pauses, progress and replies."""

from __future__ import annotations

import asyncio
import random
import uuid
from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import text

from tests.campaigns.helpers import PROMO, Desk, new_desk
from tests.conftest import Factory, identity_of
from tests.evolution.harness import rows
from tests.web.conftest import Browser, panel_login
from zapcrm.campaigns import dispatch, service
from zapcrm.campaigns.dispatch import dispatch_due
from zapcrm.campaigns.schemas import CampaignIn, CampaignOut, CampaignUpdate
from zapcrm.contacts import service as contacts_service
from zapcrm.contacts.query import service as query_service
from zapcrm.contacts.query.schemas import MembersIn, SegmentIn
from zapcrm.db import Database
from zapcrm.exceptions import ValidationFailed
from zapcrm.runtime import Runtime

NOW = datetime.now(UTC).replace(microsecond=0)


async def started(desk: Desk, **overrides: Any) -> uuid.UUID:
    """A campaign to the desk's `promo` customers, started at NOW."""
    identity = identity_of(desk.supervisor, "Sara Supervisora")
    async with desk.db.tenant_session(identity.claims) as session:
        campaign = await service.create_campaign(
            session, identity, CampaignIn.model_validate(desk.draft(**overrides))
        )
        await service.start_campaign(session, identity, campaign.id, now=NOW)
    return campaign.id


async def read(desk: Desk, campaign_id: uuid.UUID) -> CampaignOut:
    identity = identity_of(desk.supervisor)
    async with desk.db.tenant_session(identity.claims) as session:
        return await service.get_campaign(session, identity, campaign_id)


async def step(runtime: Runtime, at: datetime, seed: int = 1) -> int:
    return await dispatch_due(runtime, now=at, rng=random.Random(seed))


async def sent_messages(db: Database, campaign_id: uuid.UUID) -> list[dict[str, Any]]:
    """The campaign's messages with their chats, in send order."""
    return await rows(
        db,
        "select r.position, r.variant, m.id, m.body, m.status, m.sent_by, m.message_payload,"
        " c.id as chat_id, c.remote_jid, c.status as chat_status, c.assignee_id, c.contact_id"
        " from campaign_recipients r join evolution_messages m on m.id = r.message_id"
        " join evolution_conversations c on c.id = m.conversation_id"
        " where r.campaign_id = :id order by r.dispatched_at, r.position",
        id=campaign_id,
    )


async def test_each_step_sends_one_message_in_the_persons_own_chat(
    db: Database, factory: Factory, runtime: Runtime
) -> None:
    desk = await new_desk(db, factory)
    ana = await desk.customer("Ana Souza", "+5511987650001")
    bruno = await desk.customer("Bruno Lima", "+5531987650002")
    # Bruno already talks to the shop from a chat WhatsApp keyed without the ninth digit.
    [old_chat] = await rows(
        db,
        "insert into evolution_conversations (company_id, instance_id, remote_jid, contact_id,"
        " status, last_message_at) values (:c, :i, '553187650002@s.whatsapp.net', :b, 'open',"
        " now()) returning id",
        c=desk.company_id,
        i=desk.instance_id,
        b=bruno,
    )
    campaign_id = await started(desk)
    first_at = NOW + timedelta(seconds=1)
    assert await step(runtime, first_at) >= 1
    [first] = await sent_messages(db, campaign_id)
    assert await step(runtime, first_at) == 0  # not due again before its gap
    state = await read(desk, campaign_id)
    gap = (state.next_send_at - first_at).total_seconds()  # type: ignore[operator]
    assert 8 <= gap <= 20
    await step(runtime, state.next_send_at)  # type: ignore[arg-type]
    messages = await sent_messages(db, campaign_id)
    assert len(messages) == 2
    by_contact = {message["contact_id"]: message for message in messages}
    # Variants alternate by position; each text is filled in for its person.
    assert {message["body"] for message in messages} == {
        "Olá Ana! Natal com 20% off.",
        "Oi Bruno Lima!",
    } or {message["body"] for message in messages} == {
        "Oi Ana Souza!",
        "Olá Bruno! Natal com 20% off.",
    }
    assert first["id"] in {message["id"] for message in messages}
    new_chat = by_contact[ana]
    assert new_chat["remote_jid"] == "5511987650001@s.whatsapp.net"
    # A chat the campaign opens waits closed and unassigned until the person answers.
    assert (new_chat["chat_status"], new_chat["assignee_id"]) == ("closed", None)
    assert by_contact[bruno]["chat_id"] == old_chat["id"]
    assert by_contact[bruno]["chat_status"] == "open"
    for message in messages:
        assert message["status"] == "queued"
        assert message["sent_by"] is None
        assert message["message_payload"] == {"campaign_id": str(campaign_id)}
    # Published after each step's commit; their rows are removed in the background, each
    # step's on its own: once that cleanup has run, none is left.
    await runtime.outbox.flush()
    jobs = await rows(
        db,
        "select payload from outbox where stream = 'evolution:outgoing-messages'"
        " and payload ->> 'message_id' = any(:ids)",
        ids=[str(message["id"]) for message in messages],
    )
    assert jobs == []
    later = await read(desk, campaign_id)
    await step(runtime, later.next_send_at)  # type: ignore[arg-type]
    done = await read(desk, campaign_id)
    assert done.status == "completed"
    assert done.finished_at is not None
    assert (done.progress.total, done.progress.queued, done.progress.pending) == (2, 2, 0)


async def test_people_who_cannot_be_reached_are_skipped_without_a_wait(
    db: Database, factory: Factory, runtime: Runtime
) -> None:
    desk = await new_desk(db, factory)
    await desk.customer("Saiu da lista", "+5511987650001", opted_out=True)
    await desk.customer("Sem telefone", None)
    kept = await desk.customer("Mantido", "+5511987650003", tags=())
    merged = await desk.customer("Unido", "+5511987650004")
    await desk.customer("Normal", "+5511987650005")
    hidden = await desk.customer("Só pelo lid", None)
    [lid_chat] = await rows(
        db,
        "insert into evolution_conversations (company_id, instance_id, remote_jid, contact_id)"
        " values (:c, :i, '148392017465823@lid', :contact) returning id",
        c=desk.company_id,
        i=desk.instance_id,
        contact=hidden,
    )
    campaign_id = await started(desk)
    async with db.service_session() as session:
        await session.execute(
            text("update contacts set merged_into_id = :k where id = :m"), {"k": kept, "m": merged}
        )
    await step(runtime, NOW + timedelta(seconds=1))
    # Whoever came before the first one reachable was skipped in the same step: no gap.
    assert (await read(desk, campaign_id)).progress.queued == 1
    for minutes in range(1, 6):
        await step(runtime, NOW + timedelta(minutes=minutes))
    identity = identity_of(desk.supervisor)
    async with db.tenant_session(identity.claims) as session:
        people = await service.list_recipients(
            session, identity, campaign_id, status=None, after=0, limit=10
        )
    reasons = {person.name: (person.status, person.reason) for person in people}
    assert reasons == {
        "Saiu da lista": ("skipped", "o contato pediu para não receber mensagens"),
        "Sem telefone": ("skipped", "o contato não tem telefone nem conversa neste número"),
        "Unido": ("skipped", "o contato foi unido a outro"),
        "Normal": ("queued", None),
        # WhatsApp shows this person only by @lid: no phone, but their chat takes the message.
        "Só pelo lid": ("queued", None),
    }
    chats = {message["chat_id"] for message in await sent_messages(db, campaign_id)}
    assert len(chats) == 2
    assert lid_chat["id"] in chats


async def test_a_merge_keeps_who_was_sent_and_sends_no_one_twice(
    db: Database, factory: Factory, runtime: Runtime
) -> None:
    desk = await new_desk(db, factory)
    first = await desk.customer("Ana Souza", "+5511987650001")
    second = await desk.customer("Ana S.", "+5511987650002")
    campaign_id = await started(desk)
    await step(runtime, NOW + timedelta(seconds=1))
    [message] = await sent_messages(db, campaign_id)
    sent_to, waiting = (first, second) if message["contact_id"] == first else (second, first)
    # A supervisor finds out the two are one person and keeps the contact still waiting.
    identity = identity_of(desk.supervisor)
    async with db.tenant_session(identity.claims) as session:
        await contacts_service.merge_contacts(session, identity, waiting, sent_to)
    for minutes in range(1, 4):
        await step(runtime, NOW + timedelta(minutes=minutes))
    done = await read(desk, campaign_id)
    recipients = await rows(
        db,
        "select contact_id, message_id from campaign_recipients where campaign_id = :id",
        id=campaign_id,
    )
    assert done.status == "completed"
    assert (done.progress.total, done.progress.queued) == (1, 1)
    # The record of the send moved to the kept contact; no second message went out.
    assert recipients == [{"contact_id": waiting, "message_id": message["id"]}]
    assert len(await sent_messages(db, campaign_id)) == 1


async def test_a_slower_pace_made_faster_cuts_the_wait_already_drawn(
    db: Database, factory: Factory, runtime: Runtime
) -> None:
    desk = await new_desk(db, factory)
    for number in range(3):
        await desk.customer(f"Cliente {number}", f"+551198765000{number}")
    campaign_id = await started(desk, min_gap_seconds=500, max_gap_seconds=600)
    first_at = NOW + timedelta(seconds=1)
    await step(runtime, first_at)
    drawn = (await read(desk, campaign_id)).next_send_at
    assert drawn is not None
    assert drawn >= first_at + timedelta(seconds=500)
    identity = identity_of(desk.supervisor)

    async def repace(at: datetime, **pace: int) -> datetime | None:
        async with db.tenant_session(identity.claims) as session:
            changed = await service.update_campaign(
                session, identity, campaign_id, CampaignUpdate(**pace), now=at
            )
        return changed.next_send_at

    # Made slower: the wait drawn stays (the next one follows the new pace).
    assert await repace(first_at + timedelta(seconds=2), max_gap_seconds=900) == drawn
    # Made faster: at most the new longest gap after the last send.
    sooner = await repace(first_at + timedelta(seconds=3), min_gap_seconds=8, max_gap_seconds=20)
    assert sooner == first_at + timedelta(seconds=20)
    await step(runtime, sooner)
    assert len(await sent_messages(db, campaign_id)) == 2


async def test_outside_the_window_the_campaign_waits_for_the_next_opening(
    db: Database, factory: Factory, runtime: Runtime
) -> None:
    desk = await new_desk(db, factory)
    await desk.customer("Ana", "+5511987650001")
    campaign_id = await started(desk, window_start="08:00", window_end="20:00")
    # 23:30 UTC is 20:30 in São Paulo (the company's zone): after the window.
    evening = NOW.replace(hour=23, minute=30, second=0) + timedelta(days=1)
    await step(runtime, evening)
    state = await read(desk, campaign_id)
    assert state.progress.pending == 1
    assert not await sent_messages(db, campaign_id)
    opens = state.next_send_at
    assert opens is not None
    assert opens == (evening + timedelta(days=1)).replace(hour=11, minute=0)  # 08:00 BRT


async def test_the_hourly_cap_is_the_numbers_across_campaigns(
    db: Database, factory: Factory, runtime: Runtime
) -> None:
    desk = await new_desk(db, factory)
    for n in range(3):
        await desk.customer(f"Cliente {n}", f"+551198765000{n}")
    fast = {"min_gap_seconds": 1, "max_gap_seconds": 1, "hourly_cap": 2, "warmup": False}
    first = await started(desk, **fast)
    at = NOW + timedelta(seconds=1)
    for _ in range(2):
        await step(runtime, at)
        at += timedelta(seconds=2)
    assert len(await sent_messages(db, first)) == 2
    second = await started(desk, **fast)
    await step(runtime, at)
    # Both wait for the first send to leave the hour: the number has sent its 2.
    for campaign_id in (first, second):
        state = await read(desk, campaign_id)
        assert state.next_send_at == NOW + timedelta(seconds=1, hours=1), campaign_id
    assert not await sent_messages(db, second)


async def test_a_full_batch_takes_the_long_pause(
    db: Database, factory: Factory, runtime: Runtime
) -> None:
    desk = await new_desk(db, factory)
    for n in range(3):
        await desk.customer(f"Cliente {n}", f"+551198765000{n}")
    campaign_id = await started(desk, batch_size=2, min_gap_seconds=1, max_gap_seconds=2)
    at = NOW + timedelta(seconds=1)
    await step(runtime, at)
    after_one = (await read(desk, campaign_id)).next_send_at
    assert after_one is not None
    assert (after_one - at).total_seconds() <= 2
    await step(runtime, after_one)
    after_two = (await read(desk, campaign_id)).next_send_at
    assert after_two is not None
    assert 60 <= (after_two - after_one).total_seconds() <= 120


async def test_a_disconnected_number_pauses_the_campaign(
    db: Database, factory: Factory, runtime: Runtime
) -> None:
    desk = await new_desk(db, factory)
    await desk.customer("Ana", "+5511987650001")
    campaign_id = await started(desk)
    await desk.set_connection("close")
    await step(runtime, NOW + timedelta(seconds=1))
    state = await read(desk, campaign_id)
    assert state.status == "paused"
    assert state.pause_reason is not None
    assert "desconectou" in state.pause_reason
    assert not await sent_messages(db, campaign_id)


async def _fail_all(db: Database, campaign_id: uuid.UUID, reason: str) -> None:
    async with db.service_session() as session:
        await session.execute(
            text(
                "update evolution_messages set status = 'ERROR', error_detail = :reason"
                " where id in (select message_id from campaign_recipients"
                " where campaign_id = :id)"
            ),
            {"id": campaign_id, "reason": reason},
        )


async def test_repeated_failures_pause_it_but_numbers_not_on_whatsapp_do_not(
    db: Database, factory: Factory, runtime: Runtime
) -> None:
    desk = await new_desk(db, factory)
    for n in range(4):
        await desk.customer(f"Cliente {n}", f"+551198765000{n}")
    settings = {"min_gap_seconds": 1, "max_gap_seconds": 1, "max_consecutive_failures": 2}
    blocked = await started(desk, **settings)
    at = NOW + timedelta(seconds=1)
    for _ in range(2):
        await step(runtime, at)
        at += timedelta(seconds=2)
    await _fail_all(db, blocked, "a Evolution API recusou o envio: 403")
    await step(runtime, at)
    state = await read(desk, blocked)
    assert state.status == "paused"
    assert "2 envios seguidos falharam" in (state.pause_reason or "")
    assert state.progress.failed == 2
    assert state.progress.pending == 2
    # Resumed by hand (the gateway fixed), the old failures do not pause it again.
    identity = identity_of(desk.supervisor)
    async with db.tenant_session(identity.claims) as session:
        await service.resume_campaign(session, identity, blocked, now=at)
    await step(runtime, at)
    resumed = await read(desk, blocked)
    assert resumed.status == "running"
    assert len(await sent_messages(db, blocked)) == 3

    other = await new_desk(db, factory)
    for n in range(4):
        await other.customer(f"Cliente {n}", f"+551198766000{n}")
    bad_list = await started(other, **settings)
    at = NOW + timedelta(seconds=1)
    for _ in range(2):
        await step(runtime, at)
        at += timedelta(seconds=2)
    await _fail_all(db, bad_list, "este número não está no WhatsApp")
    await step(runtime, at)
    going = await read(other, bad_list)
    assert going.status == "running"
    assert len(await sent_messages(db, bad_list)) == 3


async def test_progress_shows_delivery_and_replies(
    db: Database, factory: Factory, runtime: Runtime
) -> None:
    desk = await new_desk(db, factory)
    await desk.customer("Ana", "+5511987650001")
    await desk.customer("Bruno", "+5511987650002")
    campaign_id = await started(desk, min_gap_seconds=1, max_gap_seconds=1)
    at = NOW + timedelta(seconds=1)
    for _ in range(2):
        await step(runtime, at)
        at += timedelta(seconds=2)
    first, second = await sent_messages(db, campaign_id)
    async with db.service_session() as session:
        await session.execute(
            text("update evolution_messages set status = 'DELIVERY_ACK' where id = :id"),
            {"id": first["id"]},
        )
        await session.execute(
            text("update evolution_messages set status = 'READ' where id = :id"),
            {"id": second["id"]},
        )
    await desk.reply_stored(second["chat_id"], second["remote_jid"], at + timedelta(minutes=1))
    progress = (await read(desk, campaign_id)).progress
    assert (progress.delivered, progress.read, progress.replied) == (1, 1, 1)
    identity = identity_of(desk.supervisor)
    async with db.tenant_session(identity.claims) as session:
        readers = await service.list_recipients(
            session, identity, campaign_id, status="read", after=0, limit=10
        )
    assert [(person.replied, person.conversation_id) for person in readers] == [
        (True, second["chat_id"])
    ]


async def test_two_workers_never_send_twice_for_one_campaign(
    db: Database, factory: Factory, runtime: Runtime
) -> None:
    desk = await new_desk(db, factory)
    for n in range(3):
        await desk.customer(f"Cliente {n}", f"+551198765000{n}")
    campaign_id = await started(desk)
    at = NOW + timedelta(seconds=1)
    await asyncio.gather(step(runtime, at, 1), step(runtime, at, 2), step(runtime, at, 3))
    assert len(await sent_messages(db, campaign_id)) == 1


async def test_the_chat_marks_the_campaigns_message_for_the_team(
    db: Database, factory: Factory, runtime: Runtime, new_browser: Browser
) -> None:
    desk = await new_desk(db, factory)
    await desk.customer("Ana", "+5511987650001")
    campaign_id = await started(desk, variants=["Oi {{primeiro_nome}}, Natal com 20% off!"])
    await step(runtime, NOW + timedelta(seconds=1))
    [message] = await sent_messages(db, campaign_id)
    http = await new_browser()
    await panel_login(http, desk.operator)
    page = await http.get(f"/panel/inbox/{message['chat_id']}")
    bubble = page.text.split(f'id="msg-{message["id"]}"', 1)[1].split("</article>", 1)[0]
    assert "📣 Campanha" in bubble
    assert "Oi Ana, Natal com 20% off!" in bubble


async def test_a_campaign_that_cannot_be_stepped_does_not_hold_up_the_others(
    db: Database, factory: Factory, runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    broken_desk, good_desk = await new_desk(db, factory), await new_desk(db, factory)
    await broken_desk.customer("Ana", "+5511987650001")
    await good_desk.customer("Bruno", "+5511987650002")
    broken = await started(broken_desk)
    good = await started(good_desk)
    async with db.service_session() as session:  # the broken one is due first
        await session.execute(
            text("update campaigns set next_send_at = :at where id = :id"),
            {"at": NOW - timedelta(minutes=1), "id": broken},
        )
    real_send = dispatch._send

    async def send(session: Any, campaign: dict[str, Any], *args: Any) -> Any:
        if campaign["id"] == broken:
            raise RuntimeError("a fault injected into this campaign's step")
        return await real_send(session, campaign, *args)

    monkeypatch.setattr(dispatch, "_send", send)
    at = NOW + timedelta(seconds=1)
    await step(runtime, at)
    assert len(await sent_messages(db, good)) == 1
    held = await read(broken_desk, broken)
    assert held.status == "running"
    assert held.next_send_at == at + dispatch.STEP_FAILURE_BACKOFF
    assert held.progress.pending == 1  # the failed step's writes were rolled back


async def test_on_a_day_it_does_not_send_on_it_waits_for_the_next_one(
    db: Database, factory: Factory, runtime: Runtime
) -> None:
    desk = await new_desk(db, factory)
    await desk.customer("Ana", "+5511987650001")
    at = NOW + timedelta(seconds=1)
    local = at.astimezone(ZoneInfo("America/Sao_Paulo"))
    others = [day for day in range(1, 8) if day != local.isoweekday()]
    campaign_id = await started(desk, weekdays=others)
    await step(runtime, at)
    state = await read(desk, campaign_id)
    assert state.weekdays == others
    assert not await sent_messages(db, campaign_id)
    tomorrow = datetime.combine(local.date() + timedelta(days=1), time(0), tzinfo=local.tzinfo)
    assert state.next_send_at == tomorrow


async def test_home_shows_supervisors_the_campaigns_sending_and_why_one_paused(
    db: Database, factory: Factory, runtime: Runtime, new_browser: Browser
) -> None:
    desk = await new_desk(db, factory)
    await desk.customer("Ana", "+5511987650001")
    sending = await started(desk, name="Natal")
    stopped = await started(desk, name="Black Friday")
    async with db.service_session() as session:
        for campaign_id, due in ((stopped, NOW), (sending, NOW + timedelta(hours=1))):
            await session.execute(
                text("update campaigns set next_send_at = :at where id = :id"),
                {"at": due, "id": campaign_id},
            )
    await desk.set_connection("close")
    await step(runtime, NOW)  # the due one finds the number disconnected and pauses
    await desk.set_connection("open")
    http = await new_browser()
    await panel_login(http, desk.supervisor)
    home = (await http.get("/panel/")).text
    block = home.split('id="campaigns-title"', 1)[1].split("</section>", 1)[0]
    assert f'href="/panel/campaigns/{sending}">Natal</a>' in block
    assert f'href="/panel/campaigns/{stopped}">Black Friday</a>' in block
    assert block.count("Pausada:") == 1
    assert "Pausada: o número" in block
    assert "desconectou" in block
    operator = await new_browser()
    await panel_login(operator, desk.operator)
    assert 'id="campaigns-title"' not in (await operator.get("/panel/")).text


async def _list_with(desk: Desk, *contact_ids: uuid.UUID) -> uuid.UUID:
    identity = identity_of(desk.supervisor)
    async with desk.db.tenant_session(identity.claims) as session:
        segment = await query_service.create_segment(
            session, identity, SegmentIn(name=f"Boas-vindas {uuid.uuid4().hex[:6]}", kind="static")
        )
    if contact_ids:
        await _join(desk, segment.id, *contact_ids)
    return segment.id


async def _join(desk: Desk, segment_id: uuid.UUID, *contact_ids: uuid.UUID) -> None:
    identity = identity_of(desk.supervisor)
    async with desk.db.tenant_session(identity.claims) as session:
        await query_service.add_members(
            session, identity, segment_id, MembersIn(contact_ids=list(contact_ids))
        )


async def test_a_campaign_that_follows_its_list_sends_to_who_joins_later(
    db: Database, factory: Factory, runtime: Runtime
) -> None:
    desk = await new_desk(db, factory)
    ana = await desk.customer("Ana Souza", "+5511987650001")
    welcome = await _list_with(desk, ana)
    campaign_id = await started(desk, audience={"segment_id": str(welcome)}, follows_list=True)

    assert await step(runtime, NOW) == 1
    assert [m["contact_id"] for m in await sent_messages(db, campaign_id)] == [ana]
    # Everyone so far has it: the campaign waits for the list instead of completing.
    later = NOW + timedelta(minutes=5)
    assert await step(runtime, later) == 1
    state = await read(desk, campaign_id)
    assert state.status == "running"
    assert state.follows_list
    assert state.next_send_at == later + dispatch.FOLLOW_RECHECK

    # A list rule (or anyone) adds two people: they get it, in the order they joined.
    bruno = await desk.customer("Bruno Lima", "+5531987650002")
    carla = await desk.customer("Carla Dias", "+5521987650003")
    await _join(desk, welcome, bruno)
    await _join(desk, welcome, carla, ana)  # Ana again: already had it
    at = later + dispatch.FOLLOW_RECHECK
    assert await step(runtime, at) == 1
    assert await step(runtime, at + timedelta(minutes=1)) == 1
    assert [m["contact_id"] for m in await sent_messages(db, campaign_id)] == [ana, bruno, carla]
    assert (await read(desk, campaign_id)).progress.total == 3
    # Someone who asked for no messages joins: skipped, and the campaign goes on following.
    dora = await desk.customer("Dora Reis", "+5511987650004", opted_out=True)
    await _join(desk, welcome, dora)
    assert await step(runtime, at + timedelta(minutes=5)) == 1
    state = await read(desk, campaign_id)
    assert (state.status, state.progress.total, state.progress.skipped) == ("running", 4, 1)


async def test_only_a_campaign_to_one_static_list_can_follow_it(
    db: Database, factory: Factory
) -> None:
    desk = await new_desk(db, factory)
    welcome = await _list_with(desk)
    identity = identity_of(desk.supervisor)
    for audience in (
        {"filter": PROMO},
        {"segment_id": str(welcome), "q": "ana"},
        {"segment_id": str(welcome), "filter": PROMO},
    ):
        with pytest.raises(ValidationFailed) as refused:
            async with db.tenant_session(identity.claims) as session:
                await service.create_campaign(
                    session,
                    identity,
                    CampaignIn.model_validate(desk.draft(audience=audience, follows_list=True)),
                )
        assert refused.value.details["fields"][0]["field"] == "follows_list"
    async with db.tenant_session(identity.claims) as session:
        draft = await service.create_campaign(
            session, identity, CampaignIn.model_validate(desk.draft())
        )
    with pytest.raises(ValidationFailed):
        async with db.tenant_session(identity.claims) as session:
            await service.update_campaign(
                session, identity, draft.id, CampaignUpdate(follows_list=True)
            )
    async with db.tenant_session(identity.claims) as session:
        followed = await service.update_campaign(
            session,
            identity,
            draft.id,
            CampaignUpdate.model_validate(
                {"audience": {"segment_id": str(welcome)}, "follows_list": True}
            ),
        )
    assert followed.follows_list


async def test_a_campaign_that_follows_an_empty_list_starts_and_waits_for_its_first(
    db: Database, factory: Factory, runtime: Runtime
) -> None:
    desk = await new_desk(db, factory)
    welcome = await _list_with(desk)
    campaign_id = await started(desk, audience={"segment_id": str(welcome)}, follows_list=True)
    assert await step(runtime, NOW) == 1
    assert (await read(desk, campaign_id)).status == "running"
    ana = await desk.customer("Ana Souza", "+5511987650001")
    await _join(desk, welcome, ana)
    assert await step(runtime, NOW + dispatch.FOLLOW_RECHECK) == 1
    assert [m["contact_id"] for m in await sent_messages(db, campaign_id)] == [ana]
