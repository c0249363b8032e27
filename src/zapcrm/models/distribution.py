"""Automatic distribution: a company's settings and each agent's "taking chats" switch."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Boolean, DateTime, ForeignKey, Index, Integer, Text, text
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import Mapped, mapped_column

from zapcrm.models.base import Base, company_column, reference, same_company, updated_at


class DistributionSettings(Base):
    """Whether waiting chats are handed out automatically, the open chats an agent may hold
    before the next one goes to someone else (None: no limit), and the hours after which an
    open chat whose customer stopped answering closes by itself (None: never). One row per
    company."""

    __tablename__ = "distribution_settings"
    __table_args__ = (
        same_company("distribution_settings", "updated_by", "profiles", cascade=False),
    )

    company_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("companies.id", ondelete="CASCADE"), primary_key=True
    )
    enabled: Mapped[bool] = mapped_column(Boolean, server_default="false")
    max_open_per_agent: Mapped[int | None] = mapped_column(Integer)
    idle_close_hours: Mapped[int | None] = mapped_column(Integer)
    idle_close_message: Mapped[str | None] = mapped_column(Text)
    updated_by: Mapped[uuid.UUID | None] = reference(nullable=True)
    updated_at: Mapped[datetime] = updated_at()


class AgentAvailability(Base):
    """A user's own switch for receiving chats from the distributor, and when they last got
    one (the round robin's tie-break)."""

    __tablename__ = "agent_availability"
    __table_args__ = (
        same_company("agent_availability", "user_id", "profiles", cascade=True),
        Index("agent_availability_company_idx", "company_id", postgresql_where=text("accepting")),
    )

    user_id: Mapped[uuid.UUID] = reference(primary_key=True)
    company_id: Mapped[uuid.UUID] = company_column()
    accepting: Mapped[bool] = mapped_column(Boolean, server_default="false")
    changed_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=text("now()")
    )
    last_assigned_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
