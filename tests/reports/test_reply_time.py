"""Reply time (crm-features.md "Reports"): each first unanswered customer message -> the next
human reply, per wait; automatic and unsent messages are not replies; waits go to the agent
who held the cycle."""

from __future__ import annotations

import httpx

from tests.conftest import Factory, login
from tests.reports.helpers import WEEK, Writer, brt, named_user
from tests.reports.test_summary import summary
from zapcrm.db import Database
from zapcrm.models import Role


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
