"""What the admin API and the panel show of WhatsApp instances (never key material)."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel


class InstanceOut(BaseModel):
    """A WhatsApp number connected through Evolution API (no key material)."""

    id: uuid.UUID
    external_id: str
    server_url: str
    webhook_url: str | None
    connection_state: str
    owner_jid: str | None
    profile_name: str | None
    last_event_at: datetime | None
    created_at: datetime
