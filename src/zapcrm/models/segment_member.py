"""A contact on a static list (a segment of kind `static`)."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, func
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import Mapped, mapped_column

from zapcrm.models.base import Base, company_fk


class SegmentMember(Base):
    """Membership of one contact in one static list."""

    __tablename__ = "segment_members"

    segment_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("segments.id", ondelete="CASCADE"), primary_key=True
    )
    contact_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("contacts.id", ondelete="CASCADE"), primary_key=True
    )
    company_id: Mapped[uuid.UUID] = company_fk()
    added_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
