"""A chat with one WhatsApp peer (person or group) on one instance."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Boolean, DateTime, Index, Integer, SmallInteger, Text, text
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from zapcrm.models.base import (
    Base,
    company_and_id_key,
    company_column,
    created_at,
    reference,
    same_company,
    updated_at,
    uuid_pk,
)


class EvolutionConversation(Base):
    """One per (instance, remote_jid), with the inbox's denormalised last-message fields."""

    __tablename__ = "evolution_conversations"
    __table_args__ = (
        company_and_id_key(),
        same_company("evolution_conversations", "instance_id", "evolution_instances", cascade=True),
        same_company("evolution_conversations", "contact_id", "contacts", cascade=False),
        same_company("evolution_conversations", "assignee_id", "profiles", cascade=False),
        same_company("evolution_conversations", "department_id", "departments", cascade=False),
        Index(
            "evolution_conversations_department_id_idx",
            "department_id",
            postgresql_where=text("department_id is not null"),
        ),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    company_id: Mapped[uuid.UUID] = company_column()
    instance_id: Mapped[uuid.UUID] = reference()
    remote_jid: Mapped[str] = mapped_column(Text)
    is_group: Mapped[bool] = mapped_column(Boolean, server_default="false")
    subject: Mapped[str | None] = mapped_column(Text)
    contact_id: Mapped[uuid.UUID | None] = reference(nullable=True)
    status: Mapped[str] = mapped_column(Text, server_default="open")
    assignee_id: Mapped[uuid.UUID | None] = reference(nullable=True)
    last_message_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    last_message_preview: Mapped[str | None] = mapped_column(Text)
    last_message_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_message_status: Mapped[str | None] = mapped_column(Text)
    last_message_from_me: Mapped[bool | None] = mapped_column(Boolean)
    unread_count: Mapped[int] = mapped_column(Integer, server_default="0")
    chatwoot_conversation_id: Mapped[int | None] = mapped_column(BigInteger)
    chatwoot_inbox_id: Mapped[int | None] = mapped_column(BigInteger)
    message_context: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    first_inbound_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_inbound_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    first_outbound_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_outbound_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # A snoozed chat is pending until then (the worker or the customer's next message wakes it).
    snoozed_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # When the chat last got the out-of-office reply (at most once a day).
    away_replied_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # The team the chat is routed to (the customer's menu choice or a person's transfer), and
    # the menu's progress: the cycle it was asked in, when, answers that chose nothing.
    department_id: Mapped[uuid.UUID | None] = reference(nullable=True)
    menu_cycle_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    menu_asked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    menu_tries: Mapped[int] = mapped_column(SmallInteger, server_default="0")
    created_at: Mapped[datetime] = created_at()
    updated_at: Mapped[datetime] = updated_at()
    # Bumped by a trigger on every update (migration 0014): readers keep the higher copy.
    version: Mapped[int] = mapped_column(BigInteger, nullable=False, server_default="1")
