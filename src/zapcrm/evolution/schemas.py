"""What the admin API and the panel show of WhatsApp instances (never key material)."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field


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


class InstanceIn(BaseModel):
    """Register an existing instance (name + token) or, without a token, create one."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200, pattern=r"^[A-Za-z0-9_.-]+$")
    token: str | None = Field(default=None, min_length=8, max_length=200)
    server_url: str | None = Field(default=None, max_length=500, pattern=r"^https?://")
