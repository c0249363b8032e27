"""A text an agent scheduled to be sent in a chat at a later moment."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import DateTime, Index, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from zapcrm.models.base import (
    Base,
    company_column,
    created_at,
    optional_fk,
    reference,
    same_company,
    updated_at,
    uuid_pk,
)


class ScheduledMessage(Base):
    """`scheduled` until due, then `sent` (with the queued `message_id`), `canceled` or
    `failed` (with `error`)."""

    __tablename__ = "scheduled_messages"
    __table_args__ = (
        same_company(
            "scheduled_messages", "conversation_id", "evolution_conversations", cascade=True
        ),
        same_company("scheduled_messages", "created_by", "profiles", cascade=False),
        Index(
            "scheduled_messages_due_idx", "send_at", postgresql_where=text("status = 'scheduled'")
        ),
        Index("scheduled_messages_conversation_idx", "conversation_id", "send_at"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    company_id: Mapped[uuid.UUID] = company_column()
    conversation_id: Mapped[uuid.UUID] = reference()
    created_by: Mapped[uuid.UUID | None] = reference(nullable=True)
    body: Mapped[str] = mapped_column(Text)
    send_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    status: Mapped[str] = mapped_column(Text, server_default="scheduled")
    message_id: Mapped[uuid.UUID | None] = optional_fk("evolution_messages.id")
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = created_at()
    updated_at: Mapped[datetime] = updated_at()
