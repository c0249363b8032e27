"""Request and response bodies of the auth API."""

from __future__ import annotations

import uuid

from pydantic import BaseModel, ConfigDict, EmailStr, Field


class LoginRequest(BaseModel):
    """E-mail and password."""

    model_config = ConfigDict(extra="forbid")

    email: EmailStr = Field(max_length=255)
    password: str = Field(min_length=1, max_length=200)


class RefreshRequest(BaseModel):
    """A refresh token obtained at login or at the previous refresh."""

    model_config = ConfigDict(extra="forbid")

    refresh_token: str = Field(min_length=1, max_length=500)


class UserOut(BaseModel):
    """The signed-in user as the panel shows them."""

    id: uuid.UUID
    email: str
    display_name: str
    company_id: uuid.UUID
    role: str


class SessionOut(BaseModel):
    """Tokens in Supabase Auth's response shape, plus our user."""

    access_token: str
    token_type: str = "bearer"  # noqa: S105 - the OAuth token type, not a secret
    expires_in: int
    refresh_token: str
    user: UserOut
