"""Fixtures for contact imports: the app client, tenants, and job helpers."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from sqlalchemy import insert, select, text

from tests.conftest import Factory, UserFixture, login
from zapcrm.contacts.importing.jobs import IMPORT_STREAM, ContactImportHandler
from zapcrm.contacts.repository import crud
from zapcrm.db import Database
from zapcrm.models import Contact, ContactAttribute, FunnelStage, Role
from zapcrm.runtime import Runtime
from zapcrm.worker import Job, RetryJobLater

UPLOAD_ROUTE = "/api/contacts/imports"
FINAL = ("completed", "failed", "cancelled")


@pytest.fixture(scope="session")
def imports_api(client: httpx.AsyncClient) -> httpx.AsyncClient:
    """The real app (its upload route carries the upload body limit), in process."""
    return client


@dataclass
class Tenant:
    """A company with one user per role and their headers."""

    company_id: uuid.UUID
    users: dict[Role, UserFixture]
    headers: dict[Role, dict[str, str]] = field(default_factory=dict)


async def new_tenant(
    factory: Factory, client: httpx.AsyncClient, roles: Sequence[Role] = tuple(Role)
) -> Tenant:
    """A fresh company with a logged-in user of each role."""
    company_id = await factory.company()
    tenant = Tenant(company_id, {role: await factory.user(company_id, role) for role in roles})
    for role, user in tenant.users.items():
        tenant.headers[role] = await login(client, user)
    return tenant


async def define(
    db: Database,
    company_id: uuid.UUID,
    attributes: Sequence[tuple[str, str, str, list[str]]] = (),
    stages: Sequence[tuple[str, str]] = (),
) -> None:
    """Custom attributes (key, label, type, options) and funnel stages (key, label)."""
    async with db.service_session() as session:
        for position, (key, label, kind, options) in enumerate(attributes):
            await session.execute(
                insert(ContactAttribute).values(
                    company_id=company_id,
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
                    company_id=company_id, key=key, label=label, position=position
                )
            )


def csv_bytes(lines: Sequence[str], *, encoding: str = "utf-8", newline: str = "\n") -> bytes:
    """A CSV file's bytes from its lines."""
    return newline.join(lines).encode(encoding) + newline.encode(encoding)


async def upload(
    client: httpx.AsyncClient,
    headers: dict[str, str],
    content: bytes,
    name: str = "contatos.csv",
) -> httpx.Response:
    """POST a file to the upload endpoint."""
    return await client.post(
        UPLOAD_ROUTE, files={"file": (name, content, "text/csv")}, headers=headers
    )


async def run_job(runtime: Runtime, job_id: str, company_id: uuid.UUID) -> None:
    """Run the queue handler for a job, as the worker would (waiting if a worker has it)."""
    handler = ContactImportHandler(runtime.db, runtime.redis)
    entry = Job(
        stream=IMPORT_STREAM,
        entry_id="1-0",
        payload={"job_id": job_id, "company_id": str(company_id)},
    )
    try:
        await handler(entry)
    except RetryJobLater:
        # A live worker of this test session picked the job up first: wait for it.
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if await job_status(runtime.db, job_id) in FINAL:
                return
            await asyncio.sleep(0.1)
        raise


async def job_status(db: Database, job_id: str) -> str:
    """A job's status, read as the service role."""
    async with db.service_session() as session:
        status = await session.scalar(
            text("select status from import_jobs where id = :id"), {"id": job_id}
        )
    return str(status)


async def import_file(
    client: httpx.AsyncClient,
    runtime: Runtime,
    tenant: Tenant,
    content: bytes,
    mapping: dict[str, str] | None = None,
    *,
    policy: str = "skip",
    role: Role = Role.OPERATOR,
) -> dict[str, Any]:
    """Upload, start with `mapping` (or the suggested one) and run a file; the final job."""
    headers = tenant.headers[role]
    uploaded = await upload(client, headers, content)
    assert uploaded.status_code == 201, uploaded.text
    job = uploaded.json()
    started = await client.post(
        f"{UPLOAD_ROUTE}/{job['id']}/start",
        json={
            "mapping": mapping or job["preview"]["suggested_mapping"],
            "existing_policy": policy,
        },
        headers=headers,
    )
    assert started.status_code == 202, started.text
    await run_job(runtime, job["id"], tenant.company_id)
    final = await client.get(f"{UPLOAD_ROUTE}/{job['id']}", headers=headers)
    assert final.status_code == 200, final.text
    body: dict[str, Any] = final.json()
    return body


async def query(db: Database, sql: str, **params: Any) -> list[dict[str, Any]]:
    """Rows of a query run as the service role."""
    async with db.service_session() as session:
        result = await session.execute(text(sql), params)
        return [dict(row._mapping) for row in result]


async def contacts_of(db: Database, company_id: uuid.UUID) -> list[dict[str, Any]]:
    """The company's contacts, by phone."""
    return await query(
        db,
        "select id, name, phone_e164, email, source, funnel_stage, tags, custom_fields"
        " from contacts where company_id = :c order by phone_e164, id",
        c=company_id,
    )


async def timeline_kinds(db: Database, company_id: uuid.UUID) -> dict[str, int]:
    """How many entries of each kind the timelines of the company's contacts show (what the
    contact page and `GET /api/contacts/{id}/history` list)."""
    kinds: Counter[str] = Counter()
    async with db.service_session() as session:
        contact_ids = await session.scalars(
            select(Contact.id).where(Contact.company_id == company_id)
        )
        for contact_id in contact_ids.all():
            for entry in await crud.history(session, contact_id, before=None, limit=1000):
                kinds[entry["kind"]] += 1
    return dict(kinds)
