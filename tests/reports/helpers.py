"""Report test data: a company whose service cycles and messages have known timestamps.

The reported week is 2026-03-01 .. 2026-03-07 in America/Sao_Paulo (UTC-3, no daylight saving
since 2019), so the UTC range is [2026-03-01 03:00, 2026-03-08 03:00).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import orjson
from sqlalchemy import text

from tests.conftest import Factory, UserFixture
from zapcrm.db import Database
from zapcrm.models import Role

BRT = ZoneInfo("America/Sao_Paulo")
WEEK = {"from": "2026-03-01", "to": "2026-03-07"}


def brt(day: int, hour: int, minute: int = 0, month: int = 3) -> datetime:
    """A moment of 2026 on the São Paulo wall clock."""
    return datetime(2026, month, day, hour, minute, tzinfo=BRT)


@dataclass
class Shop:
    """A seeded company: a supervisor, an operator, agents Ana and Bruno, two instances and
    five conversations with cycles and messages at known times."""

    company_id: uuid.UUID
    supervisor: UserFixture
    operator: UserFixture
    ana: UserFixture
    bruno: UserFixture
    loja: uuid.UUID
    filial: uuid.UUID
    conversations: dict[str, uuid.UUID]


class Writer:
    """Inserts a company's rows as the service role would, with chosen timestamps."""

    def __init__(self, session: Any, company_id: uuid.UUID) -> None:
        self.session = session
        self.company_id = company_id

    async def one(self, sql: str, **params: Any) -> uuid.UUID:
        result = await self.session.execute(text(sql), {"company": self.company_id, **params})
        value: uuid.UUID = result.scalar_one()
        return value

    async def instance(self, name: str) -> uuid.UUID:
        return await self.one(
            "insert into evolution_instances (company_id, external_id, server_url, api_key_hash)"
            " values (:company, :name, 'http://evo.test', repeat('a', 64)) returning id",
            name=f"{name}-{uuid.uuid4().hex[:6]}",
        )

    async def conversation(
        self,
        instance_id: uuid.UUID,
        assignee: UserFixture | None,
        *,
        name: str = "Cliente",
        phone: str = "+5511987650000",
    ) -> uuid.UUID:
        contact_id = await self.one(
            "insert into contacts (company_id, name, phone_e164) values (:company, :name, :phone)"
            " returning id",
            name=name,
            phone=phone,
        )
        return await self.one(
            "insert into evolution_conversations"
            " (company_id, instance_id, remote_jid, contact_id, assignee_id) values"
            " (:company, :instance, :jid, :contact, :assignee) returning id",
            instance=instance_id,
            jid=f"{uuid.uuid4().hex}@s.whatsapp.net",
            contact=contact_id,
            assignee=assignee.id if assignee else None,
        )

    async def cycle(
        self,
        conversation_id: uuid.UUID,
        started_at: datetime,
        *,
        reply_after: int | None = None,
        closed_after: int | None = None,
        closed_by: UserFixture | None = None,
    ) -> uuid.UUID:
        """A cycle; the reply and close are given in seconds after its start."""

        def later(seconds: int | None) -> datetime | None:
            return None if seconds is None else started_at + timedelta(seconds=seconds)

        return await self.one(
            "insert into conversation_cycles (company_id, conversation_id, started_at,"
            " first_human_reply_at, closed_at, closed_by) values"
            " (:company, :conversation, :started, :replied, :closed, :closer) returning id",
            conversation=conversation_id,
            started=started_at,
            replied=later(reply_after),
            closed=later(closed_after),
            closer=closed_by.id if closed_by else None,
        )

    async def ask(
        self,
        conversation_id: uuid.UUID,
        started_at: datetime,
        rating: int | None,
        *,
        asked_at: datetime | None = None,
        answered_after: int = 300,
    ) -> None:
        """Ask the customer of the cycle that started then for a grade (at its close, as
        surveys/service.ask_on_close does, unless `asked_at`) and, given a rating, have them
        answer `answered_after` seconds later."""
        asked = await self.session.execute(
            text(
                "update conversation_cycles set survey_sent_at = coalesce(:asked, closed_at)"
                " where conversation_id = :conversation and started_at = :started"
                " returning survey_sent_at"
            ),
            {"asked": asked_at, "conversation": conversation_id, "started": started_at},
        )
        sent_at: datetime = asked.scalar_one()
        if rating is not None:
            await self.session.execute(
                text(
                    "update conversation_cycles set rating = :rating, rated_at = :rated"
                    " where conversation_id = :conversation and started_at = :started"
                ),
                {
                    "rating": rating,
                    "rated": sent_at + timedelta(seconds=answered_after),
                    "conversation": conversation_id,
                    "started": started_at,
                },
            )

    async def department(self, name: str, position: int) -> uuid.UUID:
        """A department at this place in the menu."""
        return await self.one(
            "insert into departments (company_id, name, position) values"
            " (:company, :name, :position) returning id",
            name=name,
            position=position,
        )

    async def route(self, conversation_id: uuid.UUID, department_id: uuid.UUID | None) -> None:
        """Put the chat in this department (None: in none), and the cycles it had already, as
        if each had been served there (a closed cycle keeps its own: migration 0037)."""
        for statement in (
            "update evolution_conversations set department_id = :d where id = :c",
            "update conversation_cycles set department_id = :d where conversation_id = :c",
        ):
            await self.session.execute(text(statement), {"d": department_id, "c": conversation_id})

    async def message(
        self,
        conversation_id: uuid.UUID,
        at: datetime,
        *,
        from_me: bool,
        sent_by: UserFixture | None = None,
        status: str | None = None,
        payload: dict[str, Any] | None = None,
        message_id: uuid.UUID | None = None,
    ) -> uuid.UUID:
        """A message; `message_id` orders it among messages of the same second (the chat's
        order is time, then id)."""
        return await self.one(
            "insert into evolution_messages (id, company_id, instance_id, conversation_id,"
            " key_id, from_me, remote_jid, type, body, message_timestamp, sent_by, status,"
            " message_payload)"
            " select coalesce(cast(:id as uuid), app.time_ordered_uuid()), :company,"
            " c.instance_id, c.id, 'K' || gen_random_uuid(), :from_me,"
            " c.remote_jid, 'text', 'oi', :at, :sent_by, :status, cast(:payload as jsonb)"
            " from evolution_conversations c where c.id = :conversation returning id",
            id=message_id,
            conversation=conversation_id,
            at=at,
            from_me=from_me,
            sent_by=sent_by.id if sent_by else None,
            status=status,
            payload=orjson.dumps(payload or {}).decode(),
        )


async def named_user(
    db: Database, factory: Factory, company_id: uuid.UUID, name: str
) -> UserFixture:
    """An operator with this display name."""
    user = await factory.user(company_id, Role.OPERATOR)
    async with db.service_session() as session:
        await session.execute(
            text("update profiles set display_name = :name where id = :id"),
            {"name": name, "id": user.id},
        )
    return user


async def seed_shop(db: Database, factory: Factory) -> Shop:
    """The reference data set (its expected figures: tests/reports/test_summary.py)."""
    company_id = await factory.company()
    supervisor = await factory.user(company_id, Role.SUPERVISOR)
    operator = await factory.user(company_id, Role.OPERATOR)
    ana = await named_user(db, factory, company_id, "Ana Atendente")
    bruno = await named_user(db, factory, company_id, "Bruno Atendente")
    async with db.service_session() as session:
        w = Writer(session, company_id)
        loja, filial = await w.instance("loja"), await w.instance("filial")
        c1 = await w.conversation(loja, ana, name='=HYPERLINK("http://x")', phone="+5511911110001")
        c2 = await w.conversation(loja, bruno, name="Bia", phone="+5511911110002")
        c3 = await w.conversation(filial, ana, name="Caio", phone="+5511911110003")
        c4 = await w.conversation(filial, None, name="Duda", phone="+5511911110004")
        c5 = await w.conversation(loja, bruno, name="Edu", phone="+5511911110005")

        # Started the day before the period, closed inside it: a close, not a start.
        await w.cycle(c2, brt(28, 22, month=2), reply_after=60, closed_after=39600, closed_by=bruno)
        await w.cycle(c1, brt(2, 9), reply_after=60, closed_after=600, closed_by=ana)
        await w.cycle(c1, brt(3, 10), reply_after=120, closed_after=1200, closed_by=ana)
        await w.cycle(c2, brt(4, 11), reply_after=300, closed_after=3600, closed_by=bruno)
        await w.cycle(c4, brt(5, 8))  # nobody answered yet
        await w.cycle(c3, brt(7, 23, 30), reply_after=600)  # 23:30 on the last day: in
        await w.cycle(c5, brt(8, 0, 10), reply_after=10)  # 00:10 the next day: out

        await w.message(c1, brt(2, 9), from_me=False)
        await w.message(c1, brt(2, 9, 1), from_me=True, sent_by=ana, status="READ")
        await w.message(c1, brt(3, 10), from_me=False)
        await w.message(c1, brt(3, 10, 2), from_me=True, sent_by=ana, status="SERVER_ACK")
        await w.message(c2, brt(4, 11), from_me=False)
        await w.message(c2, brt(4, 11, 5), from_me=True, sent_by=bruno, status="DELIVERY_ACK")
        await w.message(c2, brt(4, 11, 6), from_me=True, sent_by=bruno, status="queued")
        await w.message(c2, brt(4, 11, 7), from_me=True, sent_by=bruno, status="ERROR")
        await w.message(c4, brt(5, 8), from_me=False)
        await w.message(c4, brt(5, 9), from_me=True, status="READ")  # from the phone
        await w.message(c3, brt(7, 23, 30), from_me=False)
        await w.message(c3, brt(7, 23, 40), from_me=True, sent_by=ana, status="READ")
        await w.message(c5, brt(8, 0, 10), from_me=False)
    return Shop(
        company_id=company_id,
        supervisor=supervisor,
        operator=operator,
        ana=ana,
        bruno=bruno,
        loja=loja,
        filial=filial,
        conversations={"c1": c1, "c2": c2, "c3": c3, "c4": c4, "c5": c5},
    )


DEPARTMENTS = ("Vendas", "Suporte", "Financeiro")


async def seed_departments(
    db: Database, shop: Shop, names: tuple[str, str, str] = DEPARTMENTS
) -> list[uuid.UUID]:
    """Three departments in this menu order (not the alphabet's): the first has c1 and c2,
    the second c3, the third nothing; c4 and c5 are in none. Their expected figures:
    tests/reports/test_departments.py."""
    async with db.service_session() as session:
        w = Writer(session, shop.company_id)
        ids = [await w.department(name, position) for position, name in enumerate(names, 1)]
        await w.route(shop.conversations["c1"], ids[0])
        await w.route(shop.conversations["c2"], ids[0])
        await w.route(shop.conversations["c3"], ids[1])
    return ids


async def seed_ratings(db: Database, shop: Shop) -> None:
    """The survey of the seeded week, asked at each close: Bruno's cycle closed on the 1st
    (started the day before) rated 5, Ana's of the 2nd rated 4 and of the 3rd rated 2, Bruno's
    of the 4th asked and never answered. Expected figures: tests/reports/test_satisfaction.py."""
    async with db.service_session() as session:
        w = Writer(session, shop.company_id)
        c1, c2 = shop.conversations["c1"], shop.conversations["c2"]
        await w.ask(c2, brt(28, 22, month=2), 5)
        await w.ask(c1, brt(2, 9), 4)
        await w.ask(c1, brt(3, 10), 2)
        await w.ask(c2, brt(4, 11), None)
