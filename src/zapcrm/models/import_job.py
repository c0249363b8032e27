"""A contact import run in the background, with its progress and result counts."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, DateTime, Integer, Text
from sqlalchemy.dialects.postgresql import JSONB
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


class ImportJob(Base):
    """One uploaded file and what became of each of its rows."""

    __tablename__ = "import_jobs"
    __table_args__ = (same_company("import_jobs", "created_by", "profiles", cascade=False),)

    id: Mapped[uuid.UUID] = uuid_pk()
    company_id: Mapped[uuid.UUID] = company_fk()
    created_by: Mapped[uuid.UUID | None] = reference(nullable=True)
    status: Mapped[str] = mapped_column(Text, server_default="uploaded")
    file_name: Mapped[str] = mapped_column(Text)
    file_path: Mapped[str | None] = mapped_column(Text)
    file_size: Mapped[int] = mapped_column(BigInteger, server_default="0")
    mapping: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default="{}")
    existing_policy: Mapped[str] = mapped_column(Text, server_default="skip")
    total_rows: Mapped[int] = mapped_column(Integer, server_default="0")
    processed_rows: Mapped[int] = mapped_column(Integer, server_default="0")
    created_count: Mapped[int] = mapped_column(Integer, server_default="0")
    updated_count: Mapped[int] = mapped_column(Integer, server_default="0")
    skipped_count: Mapped[int] = mapped_column(Integer, server_default="0")
    failed_count: Mapped[int] = mapped_column(Integer, server_default="0")
    # Rows imported without some of their values (migration 0043).
    warned_count: Mapped[int] = mapped_column(Integer, server_default="0")
    error: Mapped[str | None] = mapped_column(Text)
    detected: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default="{}")
    failed_path: Mapped[str | None] = mapped_column(Text)
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = created_at()
    updated_at: Mapped[datetime] = updated_at()
