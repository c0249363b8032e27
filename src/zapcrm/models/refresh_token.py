"""A local-provider refresh token, stored only as a hash and rotated on every use."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import DateTime, Text
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import Mapped, mapped_column

from zapcrm.models.base import Base, created_at, optional_fk, required_fk, uuid_pk


class RefreshToken(Base):
    """One link of a session's rotation chain; reuse of a used link revokes the session."""

    __tablename__ = "refresh_tokens"
    __table_args__ = {"schema": "app"}  # noqa: RUF012 - SQLAlchemy's declarative convention

    id: Mapped[uuid.UUID] = uuid_pk()
    user_id: Mapped[uuid.UUID] = required_fk("auth.users.id")
    session_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    token_hash: Mapped[str] = mapped_column(Text)
    parent_id: Mapped[uuid.UUID | None] = optional_fk("app.refresh_tokens.id")
    created_at: Mapped[datetime] = created_at()
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
