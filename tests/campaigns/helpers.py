"""Campaign test helpers: a company with a connected number, its staff and its customers."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from tests.conftest import Factory, UserFixture, identity_of, login
from tests.evolution.harness import Instance, new_instance
from zapcrm.contacts.schemas import ContactIn
from zapcrm.contacts.service import create_contact
from zapcrm.db import Database
from zapcrm.models import Role

PROMO = {"field": "tags", "operator": "contains", "value": "promo"}


@dataclass
class Desk:
    """A company with a connected WhatsApp number, a supervisor and an operator."""

    company_id: uuid.UUID
    instance_id: uuid.UUID
    supervisor: UserFixture
    operator: UserFixture
    db: Database
    instance: Instance  # for posting webhooks as its gateway would

    async def customer(
        self,
        name: str,
        phone: str | None,
        *,
        tags: tuple[str, ...] = ("promo",),
        opted_out: bool = False,
    ) -> uuid.UUID:
        """A contact of the company, created as the panel does (identity keys included)."""
        identity = identity_of(self.supervisor)
        async with self.db.tenant_session(identity.claims) as session:
            contact = await create_contact(
                session,
                identity,
                ContactIn(name=name, phone=phone, tags=list(tags), opted_out=opted_out),
            )
        return contact.id

    async def reply_stored(
        self, conversation_id: Any, remote_jid: str, at: datetime, body: str = "Quero!"
    ) -> None:
        """A customer's answer in a chat, stored as ingestion would (written at `at`)."""
        async with self.db.service_session() as session:
            await session.execute(
                text(
                    "insert into evolution_messages (company_id, instance_id, conversation_id,"
                    " key_id, from_me, remote_jid, type, body, message_timestamp, created_at)"
                    " values (:c, :i, :chat, 'REPLY-' || gen_random_uuid(), false, :jid,"
                    " 'text', :body, :at, :at)"
                ),
                {
                    "c": self.company_id,
                    "i": self.instance_id,
                    "chat": conversation_id,
                    "jid": remote_jid,
                    "body": body,
                    "at": at,
                },
            )

    async def set_connection(self, state: str) -> None:
        """The number's connection state, as the webhooks would have left it."""
        async with self.db.service_session() as session:
            await session.execute(
                text("update evolution_instances set connection_state = :s where id = :i"),
                {"s": state, "i": self.instance_id},
            )

    def draft(self, **overrides: Any) -> dict[str, Any]:
        """The body of a campaign to the `promo` customers, fast enough for a test."""
        return {
            "name": "Promoção de Natal",
            "instance_id": str(self.instance_id),
            "audience": {"filter": PROMO},
            "variants": ["Olá {{primeiro_nome|cliente}}! Natal com 20% off.", "Oi {{nome}}!"],
            "window_start": "00:00",
            "window_end": "23:59:59",
            "weekdays": [1, 2, 3, 4, 5, 6, 7],  # tests run on Sundays too
        } | overrides


async def new_desk(db: Database, factory: Factory) -> Desk:
    """A fresh company with a connected number (instance `open`, webhooks accepted with the
    instance's token) and two members of staff."""
    instance = await new_instance(db, factory, name=f"loja-{uuid.uuid4().hex[:8]}")
    desk = Desk(
        company_id=instance.company_id,
        instance_id=instance.instance_id,
        supervisor=await factory.user(instance.company_id, Role.SUPERVISOR),
        operator=await factory.user(instance.company_id, Role.OPERATOR),
        db=db,
        instance=instance,
    )
    await desk.set_connection("open")
    return desk


async def create(
    client: httpx.AsyncClient, desk: Desk, headers: dict[str, str] | None = None, **overrides: Any
) -> dict[str, Any]:
    """POST /api/campaigns as the supervisor, asserting 201."""
    headers = headers or await login(client, desk.supervisor)
    response = await client.post("/api/campaigns", json=desk.draft(**overrides), headers=headers)
    assert response.status_code == 201, response.text
    campaign: dict[str, Any] = response.json()
    return campaign


@pytest.fixture(autouse=True)
async def campaigns_end_with_the_test(db: Database) -> AsyncIterator[None]:
    """Cancel every campaign a test left sending or paused: a real `zapcrm worker` that a later
    test starts on this database would otherwise go on sending them (its dispatcher steps
    every due campaign), to gateways that no longer exist."""
    yield
    async with db.service_session() as session:
        await session.execute(
            text(
                "update campaigns set status = 'cancelled', next_send_at = null"
                " where status in ('running', 'paused')"
            )
        )
