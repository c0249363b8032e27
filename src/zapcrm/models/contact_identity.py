"""One key (phone form, WhatsApp JID or `@lid`) that resolves to a contact."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Text
from sqlalchemy.orm import Mapped, mapped_column

from zapcrm.models.base import Base, company_fk, created_at, required_fk, uuid_pk


class ContactIdentity(Base):
    """Unique per (company, kind, value): the database decides which contact a key belongs to."""

    __tablename__ = "contact_identities"

    id: Mapped[uuid.UUID] = uuid_pk()
    company_id: Mapped[uuid.UUID] = company_fk()
    contact_id: Mapped[uuid.UUID] = required_fk("contacts.id")
    kind: Mapped[str] = mapped_column(Text)
    value: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = created_at()
