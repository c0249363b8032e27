"""Reply time (crm-features.md "Reports"): each first unanswered customer message -> the next
human reply, per wait; automatic and unsent messages are not replies; waits go to the agent
who held the cycle. The statement reads only the period's messages and one on each side of it
(repository/replies.py); the figures are those of the whole cycle read from its start."""

from __future__ import annotations

import dataclasses
import random
import uuid
from datetime import datetime, time, timedelta
from typing import Any, NamedTuple

import httpx
import pytest
from sqlalchemy import text

from tests.conftest import Factory, identity_of, login
from tests.reports.helpers import BRT, WEEK, Writer, brt, named_user
from tests.reports.test_summary import summary
from zapcrm.db import Database
from zapcrm.hours.schedule import Schedule
from zapcrm.models import Role
from zapcrm.reports import repository
from zapcrm.reports.schemas import ReportFilters
from zapcrm.reports.service import period_filters


async def test_each_wait_is_timed_from_its_first_message_to_the_next_human_reply(
    client: httpx.AsyncClient, db: Database, factory: Factory
) -> None:
    company = await factory.company()
    ana = await named_user(db, factory, company, "Ana")
    async with db.service_session() as session:
        write = Writer(session, company)
        chat = await write.conversation(await write.instance("loja"), ana)
        await write.cycle(chat, brt(2, 9))
        # A wait of 5 minutes, timed from its first message (the second one adds nothing).
        await write.message(chat, brt(2, 9), from_me=False)
        await write.message(chat, brt(2, 9, 1), from_me=False)
        await write.message(chat, brt(2, 9, 5), from_me=True, sent_by=ana, status="READ")
        # A wait of 10 minutes: neither the out-of-office reply nor a send that never left
        # answers the customer.
        await write.message(chat, brt(2, 10), from_me=False)
        await write.message(
            chat, brt(2, 10), from_me=True, status="DELIVERY_ACK", payload={"away_reply": True}
        )
        await write.message(chat, brt(2, 10, 2), from_me=True, sent_by=ana, status="ERROR")
        await write.message(chat, brt(2, 10, 10), from_me=True, sent_by=ana, status="READ")
        # Still waiting at the end of the period: no time yet.
        await write.message(chat, brt(2, 11), from_me=False)
        # A wait that started before the period is not this period's.
        other = await write.conversation(await write.instance("filial"), ana, phone="+5511900")
        await write.cycle(other, brt(28, 23, month=2))
        await write.message(other, brt(28, 23, month=2), from_me=False)
        await write.message(other, brt(1, 8), from_me=True, sent_by=ana, status="READ")
    headers = await login(client, await factory.user(company, Role.SUPERVISOR))
    body = await summary(client, headers, **WEEK)
    assert body["reply"] == {
        "count": 2,
        "mean_seconds": 450.0,
        "median_seconds": 450.0,
        "p90_seconds": 570.0,
    }
    [agent] = body["agents"]
    assert (agent["name"], agent["median_reply_seconds"]) == ("Ana", 450.0)


async def test_a_period_with_no_wait_has_no_reply_time(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    company = await factory.company()
    headers = await login(client, await factory.user(company, Role.SUPERVISOR))
    body = await summary(client, headers, **WEEK)
    assert body["reply"] == {
        "count": 0,
        "mean_seconds": None,
        "median_seconds": None,
        "p90_seconds": None,
    }


async def test_a_wait_from_before_the_period_goes_on_through_a_tie_at_its_first_second(
    client: httpx.AsyncClient, db: Database, factory: Factory
) -> None:
    # The statement looks up the message before the period only for a cycle whose first
    # customer message in the period comes no later than its first reply there: at the same
    # second, the order by id decides, and here the customer's message comes first.
    company = await factory.company()
    ana = await named_user(db, factory, company, "Ana")
    async with db.service_session() as session:
        write = Writer(session, company)
        chat = await write.conversation(await write.instance("loja"), ana)
        await write.cycle(chat, brt(28, 20, month=2), closed_after=2 * 86400)
        await write.message(chat, brt(28, 20, month=2), from_me=False)
        # 00:00 on the 1st in São Paulo (03:00 UTC): the period's first second.
        first, then = sorted((uuid.uuid4(), uuid.uuid4()))  # Postgres orders uuids as these
        await write.message(chat, brt(1, 0), from_me=False, message_id=first)
        await write.message(
            chat, brt(1, 0), from_me=True, sent_by=ana, status="READ", message_id=then
        )
    headers = await login(client, await factory.user(company, Role.SUPERVISOR))
    body = await summary(client, headers, **WEEK)
    # The customer's message on the 1st adds to the wait of the 28th: no wait of the week.
    assert body["reply"]["count"] == 0


async def test_a_wait_of_the_periods_last_second_is_answered_after_it(
    client: httpx.AsyncClient, db: Database, factory: Factory
) -> None:
    # The reply after the period is looked up only for a cycle whose last customer message in
    # the period comes no earlier than its last reply there: at the same second, the order by
    # id decides, and here the customer's message comes last.
    company = await factory.company()
    ana = await named_user(db, factory, company, "Ana")
    async with db.service_session() as session:
        write = Writer(session, company)
        chat = await write.conversation(await write.instance("loja"), ana)
        await write.cycle(chat, brt(7, 22))
        await write.message(chat, brt(7, 22), from_me=False)
        # 23:59:59 on the 7th in São Paulo: the period's last second.
        last = brt(7, 23, 59) + timedelta(seconds=59)
        ours, theirs = sorted((uuid.uuid4(), uuid.uuid4()))
        await write.message(chat, last, from_me=True, sent_by=ana, status="READ", message_id=ours)
        await write.message(chat, last, from_me=False, message_id=theirs)
        # 00:00:59 on the 8th: the next day's, after the period.
        await write.message(
            chat, last + timedelta(minutes=1), from_me=True, sent_by=ana, status="READ"
        )
    headers = await login(client, await factory.user(company, Role.SUPERVISOR))
    body = await summary(client, headers, **WEEK)
    # 22:00 -> 23:59:59 (7199 s), then 23:59:59 -> 00:00:59 (60 s).
    assert body["reply"] == {
        "count": 2,
        "mean_seconds": 3629.5,
        "median_seconds": 3629.5,
        "p90_seconds": 60 + 0.9 * 7139,
    }


async def test_the_messages_around_the_period_decide_its_waits_as_the_whole_cycle_does(
    client: httpx.AsyncClient, db: Database, factory: Factory
) -> None:
    company = await factory.company()
    ana = await named_user(db, factory, company, "Ana")
    bruno = await named_user(db, factory, company, "Bruno")
    async with db.service_session() as session:
        write = Writer(session, company)
        loja = await write.instance("loja")
        # One cycle across both ends of the week (Feb 27 .. Mar 9).
        chat = await write.conversation(loja, ana, phone="+5511900000001")
        await write.cycle(chat, brt(27, 10, month=2), closed_after=10 * 86400)
        await write.message(chat, brt(27, 10, month=2), from_me=False)
        await write.message(chat, brt(27, 10, 5, month=2), from_me=True, sent_by=ana, status="READ")
        # Still waiting since the 27th (38 hours before the week): the customer's message in
        # it is no new wait, and the wait it adds to is not the week's.
        await write.message(chat, brt(27, 18, month=2), from_me=False)
        await write.message(chat, brt(1, 8), from_me=False)
        await write.message(chat, brt(1, 9), from_me=True, sent_by=ana, status="READ")
        # A wait of 10 minutes inside the week.
        await write.message(chat, brt(3, 10), from_me=False)
        await write.message(chat, brt(3, 10, 10), from_me=True, sent_by=ana, status="READ")
        # A wait of the week's last night, answered after it (2 h): a send that never left and
        # a campaign's message in between are no reply.
        await write.message(chat, brt(7, 23), from_me=False)
        await write.message(chat, brt(7, 23, 30), from_me=True, sent_by=ana, status="ERROR")
        await write.message(
            chat, brt(8, 0, 20), from_me=True, status="READ", payload={"campaign_id": "c1"}
        )
        await write.message(chat, brt(8, 1), from_me=True, sent_by=ana, status="READ")
        # A wait after the week is the next one's.
        await write.message(chat, brt(8, 2), from_me=False)
        await write.message(chat, brt(8, 2, 10), from_me=True, sent_by=ana, status="READ")
        # The last message before the week is an out-of-office reply: the customer's message
        # before it is still unanswered, so theirs on the 1st starts no wait.
        other = await write.conversation(loja, bruno, phone="+5511900000002")
        await write.cycle(other, brt(28, 22, month=2), closed_after=86400)
        await write.message(other, brt(28, 22, month=2), from_me=False)
        await write.message(
            other, brt(28, 22, 1, month=2), from_me=True, status="READ", payload={"away_reply": 1}
        )
        await write.message(other, brt(1, 7), from_me=False)
        await write.message(other, brt(1, 8), from_me=True, sent_by=bruno, status="READ")
        # A cycle closed in the week with its customer unanswered: the reply in the chat's next
        # cycle, after the week, is not this wait's.
        third = await write.conversation(loja, bruno, phone="+5511900000003")
        await write.cycle(third, brt(6, 10), closed_after=3600)
        await write.message(third, brt(6, 10), from_me=False)
        await write.cycle(third, brt(8, 9), reply_after=60)
        await write.message(third, brt(8, 9), from_me=False)
        await write.message(third, brt(8, 9, 1), from_me=True, sent_by=bruno, status="READ")
    headers = await login(client, await factory.user(company, Role.SUPERVISOR))
    body = await summary(client, headers, **WEEK)
    assert body["reply"] == {
        "count": 2,
        "mean_seconds": 3900.0,
        "median_seconds": 3900.0,
        "p90_seconds": 600 + 0.9 * 6600,
    }
    replies = {agent["name"]: agent["median_reply_seconds"] for agent in body["agents"]}
    assert replies.get("Ana") == 3900.0
    assert replies.get("Bruno") is None


class _Cycle(NamedTuple):
    chat: uuid.UUID
    assignee: uuid.UUID
    department: uuid.UUID | None
    started: datetime
    closed: datetime | None


class _Message(NamedTuple):
    id: uuid.UUID
    chat: uuid.UUID
    at: datetime
    from_me: bool
    counted: bool  # a customer's, or ours that left and that a person wrote


def _percentile(values: list[float], fraction: float) -> float:
    """percentile_cont: linear between the two nearest ranks."""
    ordered = sorted(values)
    position = fraction * (len(ordered) - 1)
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def _expected(
    cycles: list[_Cycle], messages: list[_Message], start: datetime, end: datetime
) -> dict[str, Any]:
    """The figures by the definition, each cycle read whole from its start."""
    waits: list[tuple[uuid.UUID, uuid.UUID | None, float]] = []
    for cycle in cycles:
        if cycle.started >= end or (cycle.closed is not None and cycle.closed < start):
            continue
        exchanged = sorted(
            (
                m
                for m in messages
                if m.chat == cycle.chat
                and m.counted
                and m.at >= cycle.started
                and (cycle.closed is None or m.at <= cycle.closed)
            ),
            key=lambda m: (m.at, m.id),
        )
        for index, message in enumerate(exchanged):
            if message.from_me or not start <= message.at < end:
                continue
            if index and not exchanged[index - 1].from_me:
                continue  # the customer is still waiting since an earlier message
            reply = next((m.at for m in exchanged[index + 1 :] if m.from_me), None)
            if reply is not None:
                seconds = (reply - message.at).total_seconds()
                waits.append((cycle.assignee, cycle.department, seconds))
    times = [seconds for _, _, seconds in waits]

    def medians(key: int) -> dict[Any, float]:
        groups: dict[Any, list[float]] = {}
        for wait in waits:
            groups.setdefault(wait[key], []).append(wait[2])
        return {group: _percentile(values, 0.5) for group, values in groups.items()}

    return {
        "waits": len(times),
        "mean": sum(times) / len(times) if times else None,
        "median": _percentile(times, 0.5) if times else None,
        "p90": _percentile(times, 0.9) if times else None,
        "by_agent": medians(0),
        "by_department": medians(1),
    }


async def _seed_history(
    db: Database, factory: Factory, company: uuid.UUID, rng: random.Random
) -> tuple[list[_Cycle], list[_Message]]:
    """Chats with cycles of up to 8 days one after another from Feb 20 to Mar 14 (the last one
    sometimes still open), their customers' messages and our replies, unsent ones and automatic
    ones, at minutes that collide now and then and after silences of up to 3 days (a period
    read with a shorter margin before it, instead of the cycle's last message before it,
    counts other waits)."""
    agents = [await named_user(db, factory, company, name) for name in ("Ana", "Bruno")]
    cycles: list[_Cycle] = []
    messages: list[_Message] = []
    async with db.service_session() as session:
        write = Writer(session, company)
        loja = await write.instance("loja")
        departments = [await write.department(name, n) for n, name in enumerate(("V", "S"))]
        for number in range(8):
            agent = agents[number % 2]
            chat = await write.conversation(loja, agent, phone=f"+55119000001{number:02d}")
            started = brt(20, 8, month=2) + timedelta(minutes=rng.randrange(0, 3 * 1440))
            while started < brt(14, 0):
                department = rng.choice([*departments, None])
                closed = (
                    None
                    if rng.random() < 0.3
                    else started + timedelta(minutes=rng.randrange(30, 8 * 1440))
                )
                await write.cycle(chat, started)
                await session.execute(
                    text(
                        "update conversation_cycles set assignee_id = :agent,"
                        " department_id = :department, closed_at = :closed"
                        " where conversation_id = :chat and started_at = :started"
                    ),
                    {
                        "agent": agent.id,
                        "department": department,
                        "closed": closed,
                        "chat": chat,
                        "started": started,
                    },
                )
                cycles.append(_Cycle(chat, agent.id, department, started, closed))
                finish = closed or started + timedelta(days=8)
                at = started
                while at <= finish:
                    kind = rng.choices(
                        ("in", "ours", "queued", "ERROR", "away_reply", "campaign_id"),
                        weights=(10, 8, 1, 1, 1, 1),
                    )[0]
                    from_me = kind != "in"
                    payload = {kind: True} if kind in ("away_reply", "campaign_id") else None
                    status = kind if kind in ("queued", "ERROR") else "READ" if from_me else None
                    message_id = await write.message(
                        chat, at, from_me=from_me, status=status, payload=payload
                    )
                    messages.append(_Message(message_id, chat, at, from_me, kind in ("in", "ours")))
                    at += timedelta(minutes=rng.choice((0, 1, 7, 45, 180, 600, 1440, 3 * 1440)))
                if closed is None:
                    break
                if rng.random() < 0.5:
                    # A reply after the close: the chat's, no cycle's (or the next one's).
                    message_id = await write.message(
                        chat, closed + timedelta(minutes=1), from_me=True, status="READ"
                    )
                    messages.append(
                        _Message(message_id, chat, closed + timedelta(minutes=1), True, True)
                    )
                started = closed + timedelta(minutes=rng.randrange(1, 3 * 1440))
    return cycles, messages


_WEEKDAYS = Schedule(days={day: (time(8), time(18)) for day in range(1, 6)}, zone=BRT)


@pytest.mark.parametrize("seed", [1, 2])
async def test_reply_times_of_any_period_are_those_of_the_whole_cycles(
    db: Database, factory: Factory, seed: int
) -> None:
    # Periods of a day and of three from Feb 21 to Mar 16, and periods that begin and end at
    # a message (a bound off by one message, or missing the one before the period or the
    # reply after it, changes some figure here).
    rng = random.Random(seed)
    company = await factory.company()
    cycles, messages = await _seed_history(db, factory, company, rng)
    supervisor = identity_of(await factory.user(company, Role.SUPERVISOR))
    periods: list[ReportFilters] = []
    for offset in range(24):
        first = brt(21, 0, month=2).date() + timedelta(days=offset)
        periods.append(period_filters(BRT, first, first))
        periods.append(period_filters(BRT, first, first + timedelta(days=2)))
    moments = sorted({message.at for message in messages})
    plain = period_filters(BRT, brt(1, 0).date(), brt(7, 0).date())
    for _ in range(20):
        start, end = sorted(rng.sample(moments, 2))
        periods.append(dataclasses.replace(plain, start=start, end=end))
    department = next(cycle.department for cycle in cycles if cycle.department is not None)
    narrowed = [
        dataclasses.replace(period, agent_id=cycles[0].assignee) for period in periods[::5]
    ] + [dataclasses.replace(period, department_id=department) for period in periods[1::5]]
    async with db.tenant_session(supervisor.claims) as session:
        for filters in [*periods, *narrowed]:
            scope = [
                cycle
                for cycle in cycles
                if filters.agent_id in (None, cycle.assignee)
                and filters.department_id in (None, cycle.department)
            ]
            expected = _expected(scope, messages, filters.start, filters.end)
            figures = await repository.reply_figures(session, company, filters)
            assert (figures.waits, figures.mean, figures.median, figures.p90) == pytest.approx(
                (expected["waits"], expected["mean"], expected["median"], expected["p90"])
            ), (filters.start, filters.end)
            assert figures.median_by_agent == pytest.approx(expected["by_agent"])
            assert figures.median_by_department == pytest.approx(expected["by_department"])
            # Counting only opening hours times the same waits.
            hours = dataclasses.replace(filters, business_hours=_WEEKDAYS)
            counted = await repository.reply_figures(session, company, hours)
            assert counted.waits == expected["waits"]
    assert sum(_expected(cycles, messages, p.start, p.end)["waits"] for p in periods) > 100
