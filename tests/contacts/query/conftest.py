"""Fixtures for contact queries: the app client, tenants, and contact rows."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx
import orjson
import pytest
from sqlalchemy import insert

from tests.conftest import Factory, UserFixture, identity_of, login
from zapcrm.auth.identity import Identity
from zapcrm.db import Database
from zapcrm.models import Contact, ContactAttribute, FunnelStage, Role

# The clock the filter tests run at: "N days ago" is measured from here.
NOW = datetime(2026, 6, 15, 12, 0, tzinfo=UTC)


@pytest.fixture(scope="session")
def api(client: httpx.AsyncClient) -> httpx.AsyncClient:
    """The real app, lifespan included, in process."""
    return client


@dataclass
class Tenant:
    """A company with one user per role, their headers once logged in, and its contacts."""

    company_id: uuid.UUID
    users: dict[Role, UserFixture]
    headers: dict[Role, dict[str, str]] = field(default_factory=dict)
    contacts: dict[str, uuid.UUID] = field(default_factory=dict)

    def identity(self, role: Role = Role.SUPERVISOR) -> Identity:
        """The identity a request of this role would carry."""
        return identity_of(self.users[role], display_name=f"{role.value} teste")


async def new_tenant(
    factory: Factory, client: httpx.AsyncClient | None = None, roles: Sequence[Role] = tuple(Role)
) -> Tenant:
    """A fresh company with a user of each role (logged in when a client is given)."""
    company_id = await factory.company()
    tenant = Tenant(company_id, {role: await factory.user(company_id, role) for role in roles})
    if client is not None:
        for role, user in tenant.users.items():
            tenant.headers[role] = await login(client, user)
    return tenant


async def add_contacts(db: Database, tenant: Tenant, rows: Sequence[dict[str, Any]]) -> None:
    """Insert contacts as given (service role), remembering their ids by name."""
    async with db.service_session() as session:
        for row in rows:
            contact_id = (
                await session.execute(
                    insert(Contact)
                    .values(company_id=tenant.company_id, **row)
                    .returning(Contact.id)
                )
            ).scalar_one()
            tenant.contacts[row.get("name", "")] = contact_id


async def add_definitions(
    db: Database,
    tenant: Tenant,
    attributes: Sequence[tuple[str, str, str, list[str]]] = (),
    stages: Sequence[tuple[str, str]] = (),
) -> None:
    """Define custom attributes (key, label, type, options) and funnel stages (key, label)."""
    async with db.service_session() as session:
        for position, (key, label, kind, options) in enumerate(attributes):
            await session.execute(
                insert(ContactAttribute).values(
                    company_id=tenant.company_id,
                    key=key,
                    label=label,
                    type=kind,
                    options=options,
                    position=position,
                )
            )
        for position, (key, label) in enumerate(stages):
            await session.execute(
                insert(FunnelStage).values(
                    company_id=tenant.company_id, key=key, label=label, position=position
                )
            )


def filter_param(filter_json: Any) -> str:
    """A filter as the GET endpoints take it: JSON in a query parameter."""
    return orjson.dumps(filter_json).decode()
