"""A company's satisfaction survey: asked when a chat closes, answered with a 1-5 rating."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Text
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import Mapped, mapped_column

from zapcrm.models.base import Base, updated_at


class SatisfactionSurvey(Base):
    """Whether closed chats get the question, the question itself and the thanks after it."""

    __tablename__ = "satisfaction_surveys"

    company_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("companies.id", ondelete="CASCADE"), primary_key=True
    )
    enabled: Mapped[bool] = mapped_column(Boolean, server_default="false")
    question: Mapped[str] = mapped_column(Text)
    thanks: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = updated_at()
