"""Departments ("setores"): a company's teams, who works in each, and the WhatsApp menu that
lets a customer choose one."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, Integer, Text, func
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import Mapped, mapped_column

from zapcrm.models.base import (
    Base,
    company_and_id_key,
    company_column,
    company_fk,
    created_at,
    reference,
    same_company,
    updated_at,
    uuid_pk,
)


class Department(Base):
    """A team chats are routed to; `position` orders the menu's options."""

    __tablename__ = "departments"
    __table_args__ = (
        company_and_id_key(),
        Index("departments_company_name_key", "company_id", func.lower("name"), unique=True),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    company_id: Mapped[uuid.UUID] = company_fk()
    name: Mapped[str] = mapped_column(Text)
    position: Mapped[int] = mapped_column(Integer, server_default="0")
    created_at: Mapped[datetime] = created_at()
    updated_at: Mapped[datetime] = updated_at()


class DepartmentMember(Base):
    """A user who works in a department (sees its waiting chats, receives them)."""

    __tablename__ = "department_members"
    __table_args__ = (
        same_company("department_members", "department_id", "departments", cascade=True),
        same_company("department_members", "user_id", "profiles", cascade=True),
        Index("department_members_user_id_idx", "user_id"),
    )

    department_id: Mapped[uuid.UUID] = reference(primary_key=True)
    user_id: Mapped[uuid.UUID] = reference(primary_key=True)
    company_id: Mapped[uuid.UUID] = company_column()


class DepartmentMenu(Base):
    """Whether new chats get the menu, and the greeting above its numbered options."""

    __tablename__ = "department_menus"

    company_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("companies.id", ondelete="CASCADE"), primary_key=True
    )
    enabled: Mapped[bool] = mapped_column(Boolean, server_default="false")
    greeting: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = updated_at()
