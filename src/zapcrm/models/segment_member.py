"""A contact on a static list (a segment of kind `static`)."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import DateTime, func
from sqlalchemy.orm import Mapped, mapped_column

from zapcrm.models.base import Base, company_column, reference, same_company


class SegmentMember(Base):
    """Membership of one contact in one static list."""

    __tablename__ = "segment_members"
    __table_args__ = (
        same_company("segment_members", "segment_id", "segments", cascade=True),
        same_company("segment_members", "contact_id", "contacts", cascade=True),
    )

    segment_id: Mapped[uuid.UUID] = reference(primary_key=True)
    contact_id: Mapped[uuid.UUID] = reference(primary_key=True)
    company_id: Mapped[uuid.UUID] = company_column()
    added_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
