"""A signed count of a company's contacts in one funnel stage (migration 0052).

Written only by the contacts table's statement triggers (one row per stage a statement
changed) and folded by the worker; a stage's count is the sum of its rows.
"""

from __future__ import annotations

import uuid

from sqlalchemy import BigInteger, Identity, Text
from sqlalchemy.orm import Mapped, mapped_column

from zapcrm.models.base import Base, company_fk


class ContactStageTally(Base):
    """Contacts that entered (positive) or left (negative) a stage; None: no stage."""

    __tablename__ = "contact_stage_tallies"

    id: Mapped[int] = mapped_column(BigInteger, Identity(always=True), primary_key=True)
    company_id: Mapped[uuid.UUID] = company_fk()
    funnel_stage: Mapped[str | None] = mapped_column(Text)
    contacts: Mapped[int] = mapped_column(BigInteger)
