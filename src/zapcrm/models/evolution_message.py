"""One WhatsApp message, inbound or outbound, with its delivery status."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Boolean, DateTime, Integer, Text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from zapcrm.models.base import (
    Base,
    company_column,
    created_at,
    reference,
    same_company,
    updated_at,
    uuid_pk,
)


class EvolutionMessage(Base):
    """Unique per (instance, key_id); `raw_payload` keeps what the gateway sent, for audit."""

    __tablename__ = "evolution_messages"
    __table_args__ = (
        same_company("evolution_messages", "instance_id", "evolution_instances", cascade=True),
        same_company(
            "evolution_messages", "conversation_id", "evolution_conversations", cascade=True
        ),
        same_company("evolution_messages", "sent_by", "profiles", cascade=False),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    company_id: Mapped[uuid.UUID] = company_column()
    instance_id: Mapped[uuid.UUID] = reference()
    conversation_id: Mapped[uuid.UUID] = reference()
    key_id: Mapped[str | None] = mapped_column(Text)
    from_me: Mapped[bool] = mapped_column(Boolean)
    remote_jid: Mapped[str] = mapped_column(Text)
    sender_jid: Mapped[str | None] = mapped_column(Text)
    push_name: Mapped[str | None] = mapped_column(Text)
    type: Mapped[str] = mapped_column(Text)
    body: Mapped[str | None] = mapped_column(Text)
    message_payload: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default="{}")
    raw_payload: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    status: Mapped[str | None] = mapped_column(Text)
    message_timestamp: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    event_datetime: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    quoted_key_id: Mapped[str | None] = mapped_column(Text)
    media_mimetype: Mapped[str | None] = mapped_column(Text)
    media_file_name: Mapped[str | None] = mapped_column(Text)
    media_size: Mapped[int | None] = mapped_column(BigInteger)
    media_path: Mapped[str | None] = mapped_column(Text)
    reactions: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default="{}")
    media_status: Mapped[str | None] = mapped_column(Text)
    edit_history: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, server_default="[]")
    edited_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    deleted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    sent_by: Mapped[uuid.UUID | None] = reference(nullable=True)
    client_idempotency_key: Mapped[str | None] = mapped_column(Text)
    error_detail: Mapped[str | None] = mapped_column(Text)
    outgoing: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    send_attempts: Mapped[int] = mapped_column(Integer, server_default="0")
    send_attempted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    retried_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = created_at()
    updated_at: Mapped[datetime] = updated_at()
    # Bumped by a trigger on every update (migration 0014): readers keep the higher copy.
    version: Mapped[int] = mapped_column(BigInteger, nullable=False, server_default="1")
