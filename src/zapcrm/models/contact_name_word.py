"""A word of a company's contact names, folded as `search_name` (migration 0057).

Written only by the contacts table's triggers (the words of inserted rows and of changed
names, the stale mark of the names that went) and by the worker's upkeep, which removes the
words nobody has any more; the name search looks a typed word's typos up among them
(contacts/query/search.py).
"""

from __future__ import annotations

import uuid

from sqlalchemy import BigInteger, Boolean, Identity, Text
from sqlalchemy.orm import Mapped, mapped_column

from zapcrm.models.base import Base, company_fk


class ContactNameWord(Base):
    """One distinct word of the company's contact names (rarely twice: see the migration)."""

    __tablename__ = "contact_name_words"

    id: Mapped[int] = mapped_column(BigInteger, Identity(always=True), primary_key=True)
    company_id: Mapped[uuid.UUID] = company_fk()
    word: Mapped[str] = mapped_column(Text)
    # Its name went (a contact deleted or renamed): the upkeep checks whether anyone still has
    # it (migration 0058, contacts/jobs.py).
    stale: Mapped[bool] = mapped_column(Boolean, server_default="false")
