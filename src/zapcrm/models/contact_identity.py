"""One key (phone form, WhatsApp JID or `@lid`) that resolves to a contact."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Text
from sqlalchemy.orm import Mapped, mapped_column

from zapcrm.models.base import Base, company_column, created_at, reference, same_company, uuid_pk


class ContactIdentity(Base):
    """Unique per (company, kind, value): the database decides which contact a key belongs to."""

    __tablename__ = "contact_identities"
    __table_args__ = (same_company("contact_identities", "contact_id", "contacts", cascade=True),)

    id: Mapped[uuid.UUID] = uuid_pk()
    company_id: Mapped[uuid.UUID] = company_column()
    contact_id: Mapped[uuid.UUID] = reference()
    kind: Mapped[str] = mapped_column(Text)
    value: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = created_at()
