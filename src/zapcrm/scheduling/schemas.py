"""Request and response bodies of scheduled messages."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

MAX_TEXT_LENGTH = 4096  # WhatsApp's own limit for a text message
MIN_AHEAD = timedelta(minutes=1)
MAX_AHEAD = timedelta(days=365)

Status = Literal["scheduled", "sent", "canceled", "failed"]


class ScheduledIn(BaseModel):
    """A text and the moment (with its offset) it should reach the customer."""

    model_config = ConfigDict(extra="forbid")

    text: str = Field(max_length=MAX_TEXT_LENGTH)
    send_at: datetime = Field(description="with its offset; 1 minute to 365 days ahead")


class ScheduledOut(BaseModel):
    """A scheduled message and its fate."""

    id: uuid.UUID
    conversation_id: uuid.UUID
    body: str
    send_at: datetime
    status: Status
    created_by: uuid.UUID | None
    message_id: uuid.UUID | None = Field(description="the queued message, once sent")
    error: str | None
    created_at: datetime
