"""An operator to-do ("tarefa pendente") linked to a contact or conversation."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import DateTime, Text
from sqlalchemy.orm import Mapped, mapped_column

from zapcrm.models.base import Base, company_fk, created_at, optional_fk, updated_at, uuid_pk


class Task(Base):
    """Something a person must do, with an optional due date and assignee."""

    __tablename__ = "tasks"

    id: Mapped[uuid.UUID] = uuid_pk()
    company_id: Mapped[uuid.UUID] = company_fk()
    title: Mapped[str] = mapped_column(Text)
    description: Mapped[str] = mapped_column(Text, server_default="")
    due_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    status: Mapped[str] = mapped_column(Text, server_default="open")
    assignee_id: Mapped[uuid.UUID | None] = optional_fk("profiles.id")
    created_by: Mapped[uuid.UUID | None] = optional_fk("profiles.id")
    contact_id: Mapped[uuid.UUID | None] = optional_fk("contacts.id")
    conversation_id: Mapped[uuid.UUID | None] = optional_fk("evolution_conversations.id")
    completed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = created_at()
    updated_at: Mapped[datetime] = updated_at()
