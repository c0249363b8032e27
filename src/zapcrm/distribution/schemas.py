"""Request and response bodies of the distribution API."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field, field_validator

MAX_OPEN_LIMIT = 500
MAX_IDLE_HOURS = 720  # 30 days
MAX_CLOSING_MESSAGE = 1000


class DistributionSettingsIn(BaseModel):
    """What an admin chooses: distribution on or off, the open chats an agent may hold before
    the next chat goes to someone else (null: no limit), and the hours without an answer from
    the customer after which an open chat closes by itself (null: never)."""

    model_config = ConfigDict(extra="forbid")

    enabled: bool
    max_open_per_agent: int | None = Field(default=None, ge=1, le=MAX_OPEN_LIMIT)
    idle_close_hours: int | None = Field(default=None, ge=1, le=MAX_IDLE_HOURS)
    idle_close_message: str | None = Field(
        default=None,
        max_length=MAX_CLOSING_MESSAGE,
        description="told to the customer when their chat closes for want of an answer",
    )

    @field_validator("idle_close_message")
    @classmethod
    def _blank_is_none(cls, value: str | None) -> str | None:
        return value.strip() or None if value is not None else None


class DistributionSettingsOut(BaseModel):
    """The company's distribution settings (off until an admin turns it on)."""

    enabled: bool
    max_open_per_agent: int | None
    idle_close_hours: int | None = None
    idle_close_message: str | None = None
    updated_at: datetime | None = None


class AvailabilityIn(BaseModel):
    """A user's own switch: whether the distributor may give them chats."""

    model_config = ConfigDict(extra="forbid")

    accepting: bool


class AvailabilityOut(BaseModel):
    """The caller's switch, and whether the company distributes at all."""

    accepting: bool
    distribution_enabled: bool


class TeamMemberOut(BaseModel):
    """One active user as the distributor sees them."""

    user_id: uuid.UUID
    name: str
    role: str
    accepting: bool
    online: bool = Field(description="has the panel open now (chats go only to those who do)")
    open_conversations: int
    last_assigned_at: datetime | None
    department_ids: list[uuid.UUID] = Field(
        default_factory=list, description="the departments whose chats they receive"
    )


class DistributionOut(BaseModel):
    """Settings, the team, and how many chats wait for someone."""

    settings: DistributionSettingsOut
    waiting: int = Field(description="open 1:1 chats with nobody, whose customer wrote last")
    team: list[TeamMemberOut]
