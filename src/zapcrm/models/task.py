"""An operator to-do ("tarefa pendente") linked to a contact or conversation."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import DateTime, Text
from sqlalchemy.orm import Mapped, mapped_column

from zapcrm.models.base import (
    Base,
    company_fk,
    created_at,
    reference,
    same_company,
    updated_at,
    uuid_pk,
)


class Task(Base):
    """Something a person must do, with an optional due date and assignee."""

    __tablename__ = "tasks"
    __table_args__ = (
        same_company("tasks", "assignee_id", "profiles", cascade=False),
        same_company("tasks", "created_by", "profiles", cascade=False),
        same_company("tasks", "contact_id", "contacts", cascade=False),
        same_company("tasks", "conversation_id", "evolution_conversations", cascade=False),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    company_id: Mapped[uuid.UUID] = company_fk()
    title: Mapped[str] = mapped_column(Text)
    description: Mapped[str] = mapped_column(Text, server_default="")
    due_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    status: Mapped[str] = mapped_column(Text, server_default="open")
    assignee_id: Mapped[uuid.UUID | None] = reference(nullable=True)
    created_by: Mapped[uuid.UUID | None] = reference(nullable=True)
    contact_id: Mapped[uuid.UUID | None] = reference(nullable=True)
    conversation_id: Mapped[uuid.UUID | None] = reference(nullable=True)
    completed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = created_at()
    updated_at: Mapped[datetime] = updated_at()
