"""A company-defined canned response the composer inserts by its shortcut."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Text
from sqlalchemy.orm import Mapped, mapped_column

from zapcrm.models.base import (
    Base,
    company_fk,
    created_at,
    reference,
    same_company,
    updated_at,
    uuid_pk,
)


class QuickReply(Base):
    """A shortcut like `/frete` (unique per company, any case) and the text it expands to."""

    __tablename__ = "quick_replies"
    __table_args__ = (same_company("quick_replies", "created_by", "profiles", cascade=False),)

    id: Mapped[uuid.UUID] = uuid_pk()
    company_id: Mapped[uuid.UUID] = company_fk()
    shortcut: Mapped[str] = mapped_column(Text)
    title: Mapped[str] = mapped_column(Text)
    body: Mapped[str] = mapped_column(Text)
    created_by: Mapped[uuid.UUID | None] = reference(nullable=True)
    created_at: Mapped[datetime] = created_at()
    updated_at: Mapped[datetime] = updated_at()
