"""An update that arrived before the message it applies to."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, DateTime, Identity, Text, func
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from zapcrm.models.base import Base, company_column, reference, same_company


class PendingUpdate(Base):
    """Parked status/edit/delete/reaction, applied when the message with `key_id` is stored."""

    __tablename__ = "evolution_pending_updates"
    __table_args__ = (
        same_company(
            "evolution_pending_updates", "instance_id", "evolution_instances", cascade=True
        ),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(always=True), primary_key=True)
    company_id: Mapped[uuid.UUID] = company_column()
    instance_id: Mapped[uuid.UUID] = reference()
    key_id: Mapped[str] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(Text)
    payload: Mapped[dict[str, Any]] = mapped_column(JSONB)
    received_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
