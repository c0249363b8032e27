"""A private note inside a conversation: seen by the team, never sent to WhatsApp."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import BigInteger, DateTime, Text
from sqlalchemy.orm import Mapped, mapped_column

from zapcrm.models.base import Base, company_column, created_at, reference, same_company, uuid_pk


class ConversationNote(Base):
    """What an agent wrote for colleagues in a conversation, by whom and when."""

    __tablename__ = "conversation_notes"
    __table_args__ = (
        same_company(
            "conversation_notes", "conversation_id", "evolution_conversations", cascade=True
        ),
        same_company("conversation_notes", "author_id", "profiles", cascade=False),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    company_id: Mapped[uuid.UUID] = company_column()
    conversation_id: Mapped[uuid.UUID] = reference()
    author_id: Mapped[uuid.UUID | None] = reference(nullable=True)
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = created_at()
    edited_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Bumped by a trigger on every update (migration 0018): readers keep the higher copy.
    version: Mapped[int] = mapped_column(BigInteger, nullable=False, server_default="1")
