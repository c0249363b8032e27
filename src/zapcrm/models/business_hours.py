"""A company's opening hours and its out-of-office reply (one row per company)."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import ARRAY, Boolean, Date, ForeignKey, Text
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from zapcrm.models.base import Base, reference, same_company, updated_at


class BusinessHours(Base):
    """When the company attends (`schedule` by ISO weekday, `holidays`) and what a customer
    writing outside those hours is told, if anything."""

    __tablename__ = "business_hours"
    __table_args__ = (same_company("business_hours", "updated_by", "profiles", cascade=False),)

    company_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("companies.id", ondelete="CASCADE"), primary_key=True
    )
    schedule: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default="{}")
    holidays: Mapped[list[date]] = mapped_column(ARRAY(Date), server_default="{}")
    # The admin's names of closed days, by ISO date ("2026-01-25": "Aniversário da cidade").
    holiday_names: Mapped[dict[str, str]] = mapped_column(JSONB, server_default="{}")
    away_enabled: Mapped[bool] = mapped_column(Boolean, server_default="false")
    away_message: Mapped[str] = mapped_column(Text, server_default="")
    updated_by: Mapped[uuid.UUID | None] = reference(nullable=True)
    updated_at: Mapped[datetime] = updated_at()
