"""A customer business: the unit of tenancy."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, Text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from zapcrm.models.base import Base, created_at, updated_at, uuid_pk


class Company(Base):
    """A tenant; every other tenant row points here through `company_id`."""

    __tablename__ = "companies"

    id: Mapped[uuid.UUID] = uuid_pk()
    name: Mapped[str] = mapped_column(Text)
    timezone: Mapped[str] = mapped_column(Text, server_default="America/Sao_Paulo")
    default_region: Mapped[str] = mapped_column(Text, server_default="BR")
    settings: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default="{}")
    # Agents' texts go to WhatsApp with their name in bold on top (migration 0034).
    sign_messages: Mapped[bool] = mapped_column(Boolean, server_default="false")
    created_at: Mapped[datetime] = created_at()
    updated_at: Mapped[datetime] = updated_at()
