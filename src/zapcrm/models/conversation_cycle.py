"""One service cycle of a conversation: from the first inbound message until close."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import DateTime, SmallInteger
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import Mapped, mapped_column

from zapcrm.models.base import Base, company_column, created_at, reference, same_company, uuid_pk


class ConversationCycle(Base):
    """Reports measure every time per cycle, so a reopen never inflates the previous one."""

    __tablename__ = "conversation_cycles"
    __table_args__ = (
        same_company(
            "conversation_cycles", "conversation_id", "evolution_conversations", cascade=True
        ),
        same_company("conversation_cycles", "closed_by", "profiles", cascade=False),
        same_company("conversation_cycles", "assignee_id", "profiles", cascade=False),
        same_company("conversation_cycles", "department_id", "departments", cascade=False),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    company_id: Mapped[uuid.UUID] = company_column()
    conversation_id: Mapped[uuid.UUID] = reference()
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    first_assigned_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    first_human_reply_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    closed_by: Mapped[uuid.UUID | None] = reference(nullable=True)
    assignee_id: Mapped[uuid.UUID | None] = reference(nullable=True)
    # The department the cycle was served in (migration 0037), like its assignee.
    department_id: Mapped[uuid.UUID | None] = reference(nullable=True)
    created_at: Mapped[datetime] = created_at()
    # The satisfaction survey (migration 0036): asked at the close, answered 1-5.
    survey_sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    rating: Mapped[int | None] = mapped_column(SmallInteger)
    rated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    rating_message_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
