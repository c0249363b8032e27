"""A rule that puts new and imported contacts matching a filter on a static list."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, ForeignKeyConstraint, Text
from sqlalchemy.dialects.postgresql import JSONB, UUID
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


class ListRule(Base):
    """Contacts created (API, bulk) or imported (CSV) that match `filter` join `segment_id`."""

    __tablename__ = "list_rules"
    __table_args__ = (
        # The company's own static list: the kind is part of the key, so a dynamic segment
        # cannot be a rule's target.
        ForeignKeyConstraint(
            ["segment_id", "company_id", "segment_kind"],
            ["segments.id", "segments.company_id", "segments.kind"],
            ondelete="CASCADE",
            name="list_rules_segment_fkey",
        ),
        same_company("list_rules", "created_by", "profiles", cascade=False),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    company_id: Mapped[uuid.UUID] = company_fk()
    segment_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    segment_kind: Mapped[str] = mapped_column(Text, server_default="static")
    name: Mapped[str] = mapped_column(Text)
    filter: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default="{}")
    active: Mapped[bool] = mapped_column(Boolean, server_default="true")
    created_by: Mapped[uuid.UUID | None] = reference(nullable=True)
    created_at: Mapped[datetime] = created_at()
    updated_at: Mapped[datetime] = updated_at()
