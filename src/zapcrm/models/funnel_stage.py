"""A stage of the company's sales or service funnel."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Integer, Text
from sqlalchemy.orm import Mapped, mapped_column

from zapcrm.models.base import Base, company_fk, created_at, uuid_pk


class FunnelStage(Base):
    """One value `contacts.funnel_stage` may take, in display order."""

    __tablename__ = "funnel_stages"

    id: Mapped[uuid.UUID] = uuid_pk()
    company_id: Mapped[uuid.UUID] = company_fk()
    key: Mapped[str] = mapped_column(Text)
    label: Mapped[str] = mapped_column(Text)
    position: Mapped[int] = mapped_column(Integer, server_default="0")
    created_at: Mapped[datetime] = created_at()
