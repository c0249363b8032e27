"""Request and response bodies of the user administration API."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict, EmailStr, Field

from zapcrm.models import Profile, Role


class UserCreate(BaseModel):
    """A new user of the admin's company."""

    model_config = ConfigDict(extra="forbid")

    email: EmailStr = Field(max_length=255)
    password: str = Field(min_length=8, max_length=72)
    role: Role
    display_name: str = Field(default="", max_length=200)


class UserUpdate(BaseModel):
    """Fields an admin may change; omitted fields stay as they are."""

    model_config = ConfigDict(extra="forbid")

    role: Role | None = None
    display_name: str | None = Field(default=None, max_length=200)
    active: bool | None = None


class UserAdminOut(BaseModel):
    """A user as the admin screens list them."""

    id: uuid.UUID
    email: str
    display_name: str
    role: Role
    active: bool
    created_at: datetime

    @classmethod
    def of(cls, profile: Profile) -> UserAdminOut:
        """Build from a profile row."""
        return cls(
            id=profile.id,
            email=profile.email,
            display_name=profile.display_name,
            role=Role(profile.role),
            active=profile.active,
            created_at=profile.created_at,
        )
