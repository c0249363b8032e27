"""A rule that puts new and imported contacts matching a filter on a static list."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, Text
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from zapcrm.models.base import Base, company_fk, created_at, optional_fk, updated_at, uuid_pk


class ListRule(Base):
    """Contacts created (API, bulk) or imported (CSV) that match `filter` join `segment_id`."""

    __tablename__ = "list_rules"

    id: Mapped[uuid.UUID] = uuid_pk()
    company_id: Mapped[uuid.UUID] = company_fk()
    # Part of a composite key (segment, company, kind) to segments, declared in migration 0013.
    segment_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    segment_kind: Mapped[str] = mapped_column(Text, server_default="static")
    name: Mapped[str] = mapped_column(Text)
    filter: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default="{}")
    active: Mapped[bool] = mapped_column(Boolean, server_default="true")
    created_by: Mapped[uuid.UUID | None] = optional_fk("profiles.id")
    created_at: Mapped[datetime] = created_at()
    updated_at: Mapped[datetime] = updated_at()
