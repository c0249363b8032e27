"""The simulator's in-memory world: instances, their webhook config, customers and message logs."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from zapcrm.evolution.simulator.clock import iso_utc
from zapcrm.evolution.simulator.faults import Addressing, Faults
from zapcrm.evolution.simulator.numbers import pn_jid

__all__ = [
    "ConnectionState",
    "Customer",
    "Device",
    "Instance",
    "ReadReceipt",
    "RestRequest",
    "SentRecord",
    "StoredMessage",
    "WebhookConfig",
]

ConnectionState = Literal["open", "connecting", "close"]
Device = Literal["android", "ios", "web"]


@dataclass
class Customer:
    """A simulated WhatsApp user in the directory."""

    phone: str  # digits as a CRM stores them (BR mobiles with the ninth digit)
    name: str
    legacy_without_ninth: bool = False  # WhatsApp knows this account without the 9 (§6.4)
    lid: str = ""  # digits of the @lid alias; the simulator assigns one when empty
    on_whatsapp: bool = True
    addressing: Addressing = "pn"
    device: Device = "android"
    read_receipts: bool = True  # READ/PLAYED only when both sides share receipts (§2.3)

    def as_dict(self) -> dict[str, Any]:
        """The customer as JSON."""
        return {
            "phone": self.phone,
            "name": self.name,
            "legacy_without_ninth": self.legacy_without_ninth,
            "lid": self.lid,
            "on_whatsapp": self.on_whatsapp,
            "addressing": self.addressing,
            "device": self.device,
            "read_receipts": self.read_receipts,
        }


@dataclass
class WebhookConfig:
    """The instance webhook row (one per instance, read on every emit, §1.8)."""

    id: str
    url: str
    enabled: bool
    events: list[str]
    headers: dict[str, str]
    by_events: bool
    base64: bool
    created_at: float
    updated_at: float

    def row(self, instance_id: str) -> dict[str, Any]:
        """The stored row as `/webhook/set` and `/webhook/find` return it (§3.9)."""
        return {
            "id": self.id,
            "url": self.url,
            "headers": self.headers,
            "enabled": self.enabled,
            "events": self.events,
            "webhookByEvents": self.by_events,
            "webhookBase64": self.base64,
            "createdAt": iso_utc(self.created_at),
            "updatedAt": iso_utc(self.updated_at),
            "instanceId": instance_id,
        }


@dataclass
class StoredMessage:
    """A message Evolution keeps in its database (what getBase64FromMediaMessage reads)."""

    key: dict[str, Any]
    message: dict[str, Any]  # content with Long/Bytes markers, before version encoding
    message_type: str
    timestamp: int
    db_id: str
    customer_phone: str | None
    media: bytes | None = None

    @property
    def from_me(self) -> bool:
        """Whether the instance sent this message."""
        return bool(self.key.get("fromMe"))


@dataclass
class SentRecord:
    """One REST send as the simulator received and answered it, and the acks it produced."""

    key_id: str
    endpoint: str
    request: dict[str, Any]
    response: dict[str, Any]
    number: str
    remote_jid: str
    at: float
    statuses: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """The record as JSON."""
        return {
            "key_id": self.key_id,
            "endpoint": self.endpoint,
            "number": self.number,
            "remote_jid": self.remote_jid,
            "request": self.request,
            "response": self.response,
            "statuses": self.statuses,
            "at": iso_utc(self.at),
        }


@dataclass
class ReadReceipt:
    """A key zapcrm asked to mark as read, and whether Evolution forwarded it (§3.6)."""

    key: dict[str, Any]
    forwarded: bool
    at: float

    def as_dict(self) -> dict[str, Any]:
        """The receipt as JSON."""
        return {"key": self.key, "forwarded": self.forwarded, "at": iso_utc(self.at)}


@dataclass(frozen=True, slots=True)
class RestRequest:
    """One REST call the simulator answered (the control API excluded), for tests to count."""

    method: str
    path: str
    status: int
    at: float

    def as_dict(self) -> dict[str, Any]:
        """The request as JSON."""
        return {
            "method": self.method,
            "path": self.path,
            "status": self.status,
            "at": iso_utc(self.at),
        }


@dataclass
class Instance:
    """One Evolution instance: identity, live connection state and what it has seen."""

    name: str
    id: str
    token: str
    integration: str
    number: str
    profile_name: str
    created_at: float
    updated_at: float
    settings: dict[str, Any]
    state: ConnectionState = "close"
    has_session: bool = False
    ever_connected: bool = False  # `sender` is absent from envelopes until then (§1.6)
    qr_count: int = 0
    qr_code: str | None = None
    pairing_code: str | None = None
    webhook: WebhookConfig | None = None
    # `base64` is cached at connect time, so toggling it needs a reconnect (§1.8, #1555).
    active_base64: bool = False
    faults: Faults | None = None
    messages: dict[str, StoredMessage] = field(default_factory=dict)
    sent: list[SentRecord] = field(default_factory=list)
    reads: list[ReadReceipt] = field(default_factory=list)
    contacts: set[str] = field(default_factory=set)
    disconnection_code: int | None = None
    disconnection_object: str | None = None
    disconnection_at: float | None = None

    @property
    def wuid(self) -> str:
        """The instance's own WhatsApp JID."""
        return pn_jid(self.number)
