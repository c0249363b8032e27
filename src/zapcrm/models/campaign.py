"""A bulk send: one text (with variants) to a list of contacts, paced to keep the number safe."""

from __future__ import annotations

import uuid
from datetime import datetime, time
from typing import Any

from sqlalchemy import ARRAY, Boolean, DateTime, Integer, SmallInteger, Text, Time
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from zapcrm.models.base import (
    Base,
    company_and_id_key,
    company_column,
    created_at,
    reference,
    same_company,
    updated_at,
    uuid_pk,
)
from zapcrm.models.stored_text import StoredText


class Campaign(Base):
    """The campaign's text, audience, pacing settings and the dispatcher's state."""

    __tablename__ = "campaigns"
    __table_args__ = (
        company_and_id_key(),
        same_company("campaigns", "instance_id", "evolution_instances", cascade=True),
        same_company("campaigns", "created_by", "profiles", cascade=False),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    company_id: Mapped[uuid.UUID] = company_column()
    instance_id: Mapped[uuid.UUID] = reference()
    name: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(Text, server_default="draft")
    # A contact query (q, filter, segment_id), evaluated when the campaign starts.
    audience: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default="{}")
    variants: Mapped[list[str]] = mapped_column(ARRAY(Text))
    min_gap_seconds: Mapped[int] = mapped_column(Integer, server_default="8")
    max_gap_seconds: Mapped[int] = mapped_column(Integer, server_default="20")
    batch_size: Mapped[int] = mapped_column(Integer, server_default="20")
    batch_pause_min_seconds: Mapped[int] = mapped_column(Integer, server_default="60")
    batch_pause_max_seconds: Mapped[int] = mapped_column(Integer, server_default="120")
    hourly_cap: Mapped[int] = mapped_column(Integer, server_default="70")
    daily_cap: Mapped[int] = mapped_column(Integer, server_default="300")
    warmup: Mapped[bool] = mapped_column(Boolean, server_default="true")
    window_start: Mapped[time] = mapped_column(Time, server_default="08:00")
    window_end: Mapped[time] = mapped_column(Time, server_default="20:00")
    weekdays: Mapped[list[int]] = mapped_column(ARRAY(SmallInteger), server_default="{1,2,3,4,5,6}")
    max_consecutive_failures: Mapped[int] = mapped_column(Integer, server_default="5")
    next_send_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    sent_in_batch: Mapped[int] = mapped_column(Integer, server_default="0")
    # Its audience is a static list, and people added to the list later receive it too.
    follows_list: Mapped[bool] = mapped_column(Boolean, server_default="false")
    # Why it stopped, in words the panel can translate (a parameter names the number, the user).
    pause_reason: Mapped[str | None] = mapped_column(StoredText)
    created_by: Mapped[uuid.UUID | None] = reference(nullable=True)
    created_at: Mapped[datetime] = created_at()
    updated_at: Mapped[datetime] = updated_at()
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    resumed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
