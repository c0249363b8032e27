"""One person of a campaign's audience and the message the campaign sent them."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import DateTime, Integer, SmallInteger, Text
from sqlalchemy.orm import Mapped, mapped_column

from zapcrm.models.base import Base, company_column, optional_fk, reference, same_company, uuid_pk


class CampaignRecipient(Base):
    """`pending` until dispatched, then `sent` (delivery follows `message_id`) or `skipped`."""

    __tablename__ = "campaign_recipients"
    __table_args__ = (
        same_company("campaign_recipients", "campaign_id", "campaigns", cascade=True),
        same_company("campaign_recipients", "contact_id", "contacts", cascade=True),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    company_id: Mapped[uuid.UUID] = company_column()
    campaign_id: Mapped[uuid.UUID] = reference()
    contact_id: Mapped[uuid.UUID] = reference()
    position: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(Text, server_default="pending")
    reason: Mapped[str | None] = mapped_column(Text)
    variant: Mapped[int | None] = mapped_column(SmallInteger)
    message_id: Mapped[uuid.UUID | None] = optional_fk("evolution_messages.id")
    dispatched_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
