"""A WhatsApp number connected through an Evolution API server."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import DateTime, Text
from sqlalchemy.orm import Mapped, mapped_column

from zapcrm.models.base import Base, company_and_id_key, company_fk, created_at, updated_at, uuid_pk


class EvolutionInstance(Base):
    """An Evolution instance; `external_id` is its name in Evolution's REST paths."""

    __tablename__ = "evolution_instances"
    __table_args__ = (company_and_id_key(),)

    id: Mapped[uuid.UUID] = uuid_pk()
    company_id: Mapped[uuid.UUID] = company_fk()
    external_id: Mapped[str] = mapped_column(Text)
    server_url: Mapped[str] = mapped_column(Text)
    api_key_hash: Mapped[str] = mapped_column(Text)
    api_key_ciphertext: Mapped[str | None] = mapped_column(Text)
    webhook_url: Mapped[str | None] = mapped_column(Text)
    connection_state: Mapped[str] = mapped_column(Text, server_default="close")
    owner_jid: Mapped[str | None] = mapped_column(Text)
    profile_name: Mapped[str | None] = mapped_column(Text)
    last_event_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    connection_changed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = created_at()
    updated_at: Mapped[datetime] = updated_at()
