"""A person the company talks to, with CRM fields."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, Computed, DateTime, Integer, Text, func
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from zapcrm.models.base import (
    Base,
    company_and_id_key,
    company_fk,
    created_at,
    reference,
    same_company,
    updated_at,
    uuid_pk,
)


class Contact(Base):
    """One person; every WhatsApp id or phone form of them resolves here via identities."""

    __tablename__ = "contacts"
    __table_args__ = (
        company_and_id_key(),
        same_company("contacts", "merged_into_id", "contacts", cascade=False),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    company_id: Mapped[uuid.UUID] = company_fk()
    phone_e164: Mapped[str | None] = mapped_column(Text)
    name: Mapped[str] = mapped_column(Text, server_default="")
    email: Mapped[str | None] = mapped_column(Text)
    source: Mapped[str | None] = mapped_column(Text)
    funnel_stage: Mapped[str | None] = mapped_column(Text)
    tags: Mapped[list[str]] = mapped_column(ARRAY(Text), server_default="{}")
    custom_fields: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default="{}")
    notes: Mapped[str] = mapped_column(Text, server_default="")
    opted_out: Mapped[bool] = mapped_column(Boolean, server_default="false")
    last_interaction_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Since when it is in its funnel stage: set by a trigger when the stage changes (0039).
    stage_since: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
    merged_into_id: Mapped[uuid.UUID | None] = reference(nullable=True)
    search_name: Mapped[str | None] = mapped_column(Text, Computed("app.search_text(name)"))
    # The tags in lower case, as filters compare them (0040).
    folded_tags: Mapped[list[str] | None] = mapped_column(
        ARRAY(Text), Computed("app.folded_tags(tags)")
    )
    # The import job that created it and the file's row (migration 0056): its timeline's
    # "import.created" entry, kept on the row the import writes anyway instead of as an event.
    import_job_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    import_row: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = created_at()
    updated_at: Mapped[datetime] = updated_at()
