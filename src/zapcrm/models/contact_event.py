"""One entry of a contact's timeline: a field change, a merge, an import, a note."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Identity, Text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from zapcrm.models.base import (
    Base,
    company_column,
    created_at,
    optional_fk,
    reference,
    same_company,
)


class ContactEvent(Base):
    """Something that happened to a contact, by whom, with details."""

    __tablename__ = "contact_events"
    __table_args__ = (same_company("contact_events", "contact_id", "contacts", cascade=True),)

    id: Mapped[int] = mapped_column(BigInteger, Identity(always=True), primary_key=True)
    company_id: Mapped[uuid.UUID] = company_column()
    contact_id: Mapped[uuid.UUID] = reference()
    kind: Mapped[str] = mapped_column(Text)
    actor_id: Mapped[uuid.UUID | None] = optional_fk("auth.users.id")
    details: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default="{}")
    created_at: Mapped[datetime] = created_at()
