"""Post Evolution webhook payloads to the real app and look at the rows they leave."""

from __future__ import annotations

import copy
import json
import uuid
from dataclasses import dataclass
from importlib import resources
from typing import Any

import httpx
from sqlalchemy import text

from tests.conftest import Factory
from zapcrm.config import load_settings
from zapcrm.db import Database
from zapcrm.evolution.credentials import CredentialBox
from zapcrm.evolution.instances import register_instance

FIXTURES = resources.files("zapcrm.evolution") / "fixtures"


def fixture_names() -> list[str]:
    """Every fixture file name, sorted."""
    return sorted(entry.name for entry in FIXTURES.iterdir() if entry.name.endswith(".json"))


def load_fixture(name: str) -> dict[str, Any]:
    """A fixture document (`envelope`, `expect`, `description`)."""
    document: dict[str, Any] = json.loads((FIXTURES / name).read_text())
    return document


@dataclass
class Instance:
    """A registered instance of a fresh company, and how to post as it."""

    company_id: uuid.UUID
    instance_id: uuid.UUID
    name: str
    server_url: str
    token: str

    def envelope(self, envelope: dict[str, Any], *, with_key: bool = True) -> dict[str, Any]:
        """The envelope addressed to this instance (name, server, apikey)."""
        body = copy.deepcopy(envelope)
        body["instance"] = self.name
        body["server_url"] = self.server_url
        body["apikey"] = self.token if with_key else None
        return body


async def new_instance(db: Database, factory: Factory, name: str = "acme-sales") -> Instance:
    """A company with one registered instance on a server URL of its own."""
    company_id = await factory.company()
    server_url = f"https://evo-{uuid.uuid4().hex[:8]}.example.com"
    token = f"token-{uuid.uuid4().hex}"
    async with db.service_session() as session:
        instance_id = await register_instance(
            session,
            company_id=company_id,
            name=name,
            token=token,
            credentials=CredentialBox.from_settings(load_settings(environment="test")),
            server_url=server_url,
        )
    return Instance(company_id, instance_id, name, server_url, token)


async def post(
    client: httpx.AsyncClient,
    body: dict[str, Any] | bytes,
    *,
    suffix: str | None = None,
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    """POST one delivery like Evolution does."""
    url = "/webhooks/evolution" + (f"/{suffix}" if suffix else "")
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    return await client.post(
        url,
        content=content,
        headers={
            "content-type": "application/json",
            "user-agent": "axios/1.7.9",
            **(headers or {}),
        },
    )


async def rows(db: Database, sql: str, **params: Any) -> list[dict[str, Any]]:
    """Run a query as the service role and return dict rows."""
    async with db.service_session() as session:
        result = await session.execute(text(sql), params)
        return [dict(row._mapping) for row in result]


def text_message(
    key_id: str,
    *,
    remote_jid: str = "5511987654321@s.whatsapp.net",
    text_body: str = "oi",
    from_me: bool = False,
    timestamp: int = 1763326182,
    alt: str | None = None,
    push_name: str = "Maria",
    event: str = "messages.upsert",
    status: str = "DELIVERY_ACK",
) -> dict[str, Any]:
    """A 2.3.x `messages.upsert` envelope with a text message."""
    key: dict[str, Any] = {"remoteJid": remote_jid, "fromMe": from_me, "id": key_id}
    if alt:
        key["remoteJidAlt"] = alt
        key["addressingMode"] = "lid" if remote_jid.endswith("@lid") else "pn"
    return {
        "event": event,
        "instance": "acme-sales",
        "data": {
            "key": key,
            "pushName": push_name,
            "status": status,
            "message": {"conversation": text_body},
            "messageType": "conversation",
            "messageTimestamp": timestamp,
            "instanceId": "99910a55-8bbd-440a-9e14-9d5833a63c5e",
            "source": "android",
        },
        "destination": "https://app.example.com/hooks/evolution",
        "date_time": "2025-11-16T17:49:42.155Z",
        "sender": "5511900000000@s.whatsapp.net",
        "server_url": "https://evo.example.com",
        "apikey": None,
    }


def status_update(
    key_id: str, status: str, remote_jid: str = "5511987654321@s.whatsapp.net"
) -> dict[str, Any]:
    """A 2.3.x `messages.update` envelope."""
    return {
        "event": "messages.update",
        "instance": "acme-sales",
        "data": {
            "messageId": "cm" + uuid.uuid4().hex[:20],
            "keyId": key_id,
            "remoteJid": remote_jid,
            "fromMe": True,
            "participant": remote_jid,
            "status": status,
            "instanceId": "99910a55-8bbd-440a-9e14-9d5833a63c5e",
        },
        "date_time": "2025-11-16T17:49:43.155Z",
        "server_url": "https://evo.example.com",
        "apikey": None,
    }
