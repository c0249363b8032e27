"""Supabase's `auth.users` (or the local shim with the same columns)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, DateTime, String
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from zapcrm.models.base import Base, created_at, updated_at, uuid_pk


class AuthUser(Base):
    """A login identity; its profile says which company and role it has."""

    __tablename__ = "users"
    __table_args__ = {"schema": "auth"}  # noqa: RUF012 - SQLAlchemy's declarative convention

    id: Mapped[uuid.UUID] = uuid_pk()
    email: Mapped[str | None] = mapped_column(String(255))
    encrypted_password: Mapped[str | None] = mapped_column(String(255))
    aud: Mapped[str | None] = mapped_column(String(255), server_default="authenticated")
    role: Mapped[str | None] = mapped_column(String(255), server_default="authenticated")
    email_confirmed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_sign_in_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    raw_app_meta_data: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    raw_user_meta_data: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    banned_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    is_sso_user: Mapped[bool] = mapped_column(Boolean, server_default="false")
    created_at: Mapped[datetime | None] = created_at()
    updated_at: Mapped[datetime | None] = updated_at()
