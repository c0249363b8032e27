"""A company-defined custom field of contacts, with its type."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Integer, Text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from zapcrm.models.base import Base, company_fk, created_at, uuid_pk


class ContactAttribute(Base):
    """Definition of `contacts.custom_fields[key]`: text, number, date, boolean or list."""

    __tablename__ = "contact_attributes"

    id: Mapped[uuid.UUID] = uuid_pk()
    company_id: Mapped[uuid.UUID] = company_fk()
    key: Mapped[str] = mapped_column(Text)
    label: Mapped[str] = mapped_column(Text)
    type: Mapped[str] = mapped_column(Text)
    options: Mapped[list[Any]] = mapped_column(JSONB, server_default="[]")
    position: Mapped[int] = mapped_column(Integer, server_default="0")
    created_at: Mapped[datetime] = created_at()
