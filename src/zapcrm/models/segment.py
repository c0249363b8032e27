"""A saved contact filter (dynamic) or a fixed list (static)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from zapcrm.models.base import (
    Base,
    company_and_id_key,
    company_fk,
    created_at,
    reference,
    same_company,
    updated_at,
    uuid_pk,
)


class Segment(Base):
    """Reused by the contact list and by campaigns."""

    __tablename__ = "segments"
    __table_args__ = (
        company_and_id_key(),
        same_company("segments", "created_by", "profiles", cascade=False),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    company_id: Mapped[uuid.UUID] = company_fk()
    name: Mapped[str] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(Text, server_default="dynamic")
    filter: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default="{}")
    created_by: Mapped[uuid.UUID | None] = reference(nullable=True)
    created_at: Mapped[datetime] = created_at()
    updated_at: Mapped[datetime] = updated_at()
