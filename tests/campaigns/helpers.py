"""Campaign test helpers: a company with a connected number, its staff and its customers."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import httpx
from sqlalchemy import text

from tests.conftest import Factory, UserFixture, login
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

    async def customer(
        self,
        name: str,
        phone: str | None,
        *,
        tags: tuple[str, ...] = ("promo",),
        opted_out: bool = False,
    ) -> uuid.UUID:
        """A contact of the company."""
        async with self.db.service_session() as session:
            found = await session.execute(
                text(
                    "insert into contacts (company_id, name, phone_e164, tags, opted_out)"
                    " values (:c, :name, :phone, :tags, :opted_out) returning id"
                ),
                {
                    "c": self.company_id,
                    "name": name,
                    "phone": phone,
                    "tags": list(tags),
                    "opted_out": opted_out,
                },
            )
            contact_id: uuid.UUID = found.scalar_one()
        return contact_id

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
        } | overrides


async def new_desk(db: Database, factory: Factory) -> Desk:
    """A fresh company with a connected number (instance `open`) and two members of staff."""
    company_id = await factory.company()
    async with db.service_session() as session:
        instance_id = (
            await session.execute(
                text(
                    "insert into evolution_instances"
                    " (company_id, external_id, server_url, api_key_hash, connection_state)"
                    " values (:c, 'loja-' || gen_random_uuid(), 'http://evo.test',"
                    " repeat('a', 64), 'open') returning id"
                ),
                {"c": company_id},
            )
        ).scalar_one()
    return Desk(
        company_id=company_id,
        instance_id=instance_id,
        supervisor=await factory.user(company_id, Role.SUPERVISOR),
        operator=await factory.user(company_id, Role.OPERATOR),
        db=db,
    )


async def create(
    client: httpx.AsyncClient, desk: Desk, headers: dict[str, str] | None = None, **overrides: Any
) -> dict[str, Any]:
    """POST /api/campaigns as the supervisor, asserting 201."""
    headers = headers or await login(client, desk.supervisor)
    response = await client.post("/api/campaigns", json=desk.draft(**overrides), headers=headers)
    assert response.status_code == 201, response.text
    campaign: dict[str, Any] = response.json()
    return campaign
