"""One service cycle of a conversation: from the first inbound message until close."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import DateTime
from sqlalchemy.orm import Mapped, mapped_column

from zapcrm.models.base import Base, company_fk, created_at, optional_fk, required_fk, uuid_pk


class ConversationCycle(Base):
    """Reports measure every time per cycle, so a reopen never inflates the previous one."""

    __tablename__ = "conversation_cycles"

    id: Mapped[uuid.UUID] = uuid_pk()
    company_id: Mapped[uuid.UUID] = company_fk()
    conversation_id: Mapped[uuid.UUID] = required_fk("evolution_conversations.id")
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    first_assigned_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    first_human_reply_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    closed_by: Mapped[uuid.UUID | None] = optional_fk("profiles.id")
    # Who held the conversation during the cycle (migration 0020 keeps it, by trigger).
    assignee_id: Mapped[uuid.UUID | None] = optional_fk("profiles.id")
    created_at: Mapped[datetime] = created_at()
