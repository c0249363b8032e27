"""An invitation to join a company: the invited login, its role and the hashed link token."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import DateTime, Text, func
from sqlalchemy.orm import Mapped, mapped_column

from zapcrm.models.base import Base, company_fk, created_at, reference, same_company, uuid_pk


class UserInvite(Base):
    """Pending until accepted or revoked; usable only before `expires_at`."""

    __tablename__ = "user_invites"
    __table_args__ = (
        same_company("user_invites", "invited_by", "profiles", cascade=False),
        same_company("user_invites", "user_id", "profiles", cascade=False),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    company_id: Mapped[uuid.UUID] = company_fk()
    user_id: Mapped[uuid.UUID | None] = reference(nullable=True)
    email: Mapped[str] = mapped_column(Text)
    display_name: Mapped[str] = mapped_column(Text, server_default="")
    role: Mapped[str] = mapped_column(Text)
    token_hash: Mapped[str] = mapped_column(Text)
    invited_by: Mapped[uuid.UUID | None] = reference(nullable=True)
    created_at: Mapped[datetime] = created_at()
    sent_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    accepted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
