"""A private note inside a conversation: seen by the team, never sent to WhatsApp."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import BigInteger, DateTime, Text
from sqlalchemy.orm import Mapped, mapped_column

from zapcrm.models.base import Base, company_fk, created_at, optional_fk, required_fk, uuid_pk


class ConversationNote(Base):
    """What an agent wrote for colleagues in a conversation, by whom and when."""

    __tablename__ = "conversation_notes"

    id: Mapped[uuid.UUID] = uuid_pk()
    company_id: Mapped[uuid.UUID] = company_fk()
    conversation_id: Mapped[uuid.UUID] = required_fk("evolution_conversations.id")
    author_id: Mapped[uuid.UUID | None] = optional_fk("profiles.id")
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = created_at()
    edited_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Bumped by a trigger on every update (migration 0018): readers keep the higher copy.
    version: Mapped[int] = mapped_column(BigInteger, nullable=False, server_default="1")
