"""Where logins live: `auth.users` written directly (local provider) or Supabase Auth's admin API.

Supabase Auth owns its tables (identities, sessions, audit) and expects users to be created
through GoTrue, so with AUTH_PROVIDER=supabase we never insert into `auth.users` ourselves.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any, Protocol

import httpx
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from zapcrm.accounts import repository
from zapcrm.auth.passwords import hash_password, validate_password
from zapcrm.config import AuthProvider, Settings
from zapcrm.exceptions import Conflict, ServiceUnavailable, ValidationFailed
from zapcrm.i18n import N_

# Supabase's admin API bans "for a duration"; a century is its idiom for "until unbanned".
_BAN_FOREVER = "876000h"


class UserDirectory(Protocol):
    """Creates logins and blocks them."""

    async def create(
        self, session: AsyncSession, *, email: str, password: str, display_name: str
    ) -> uuid.UUID:
        """Create a login with a confirmed e-mail and return its id."""

    async def set_banned(self, user_id: uuid.UUID, banned: bool) -> None:
        """Block (or unblock) the login at the auth server."""

    async def discard(self, user_id: uuid.UUID) -> None:
        """Undo a `create` whose profile could not be saved."""

    async def set_password(self, session: AsyncSession, user_id: uuid.UUID, password: str) -> None:
        """Give a login a new (validated) password."""

    async def remove(self, session: AsyncSession, user_id: uuid.UUID) -> None:
        """Delete a login and its profile (an invitation revoked before it was used)."""


class LocalDirectory:
    """Users in `auth.users` with bcrypt hashes, exactly as Supabase Auth stores them."""

    async def create(
        self, session: AsyncSession, *, email: str, password: str, display_name: str
    ) -> uuid.UUID:
        """Insert the login in the caller's transaction."""
        encrypted = hash_password(password)
        try:
            async with session.begin_nested():
                return await repository.insert_auth_user(
                    session,
                    email=email,
                    encrypted_password=encrypted,
                    app_metadata={"provider": "email", "providers": ["email"]},
                    user_metadata={"display_name": display_name},
                )
        except IntegrityError:
            raise Conflict(N_("já existe um usuário com este e-mail")) from None

    async def set_banned(self, user_id: uuid.UUID, banned: bool) -> None:
        """Nothing to do: the local provider checks `profiles.active` at every login."""

    async def discard(self, user_id: uuid.UUID) -> None:
        """Nothing to do: the insert rolls back with the caller's transaction."""

    async def set_password(self, session: AsyncSession, user_id: uuid.UUID, password: str) -> None:
        """Store the new bcrypt hash in the caller's transaction."""
        await repository.set_encrypted_password(session, user_id, hash_password(password))

    async def remove(self, session: AsyncSession, user_id: uuid.UUID) -> None:
        """Delete the login in the caller's transaction."""
        await repository.delete_auth_user(session, user_id)


@dataclass
class SupabaseDirectory:
    """Supabase Auth's admin API (`/auth/v1/admin/users`) with the service-role key."""

    http: httpx.AsyncClient
    base_url: str
    service_key: str

    def _headers(self) -> dict[str, str]:
        return {"apikey": self.service_key, "Authorization": f"Bearer {self.service_key}"}

    async def create(
        self, session: AsyncSession, *, email: str, password: str, display_name: str
    ) -> uuid.UUID:
        """Create the user at Supabase Auth (e-mail confirmed) and return its id."""
        validate_password(password)
        body = await self._call(
            "POST",
            "/auth/v1/admin/users",
            {
                "email": email,
                "password": password,
                "email_confirm": True,
                "user_metadata": {"display_name": display_name},
            },
        )
        return uuid.UUID(str(body["id"]))

    async def discard(self, user_id: uuid.UUID) -> None:
        """Remove a user created moments ago whose profile could not be saved."""
        await self._call("DELETE", f"/auth/v1/admin/users/{user_id}", None)

    async def set_password(self, session: AsyncSession, user_id: uuid.UUID, password: str) -> None:
        """Set the password at Supabase Auth."""
        validate_password(password)
        await self._call("PUT", f"/auth/v1/admin/users/{user_id}", {"password": password})

    async def remove(self, session: AsyncSession, user_id: uuid.UUID) -> None:
        """Delete the user at Supabase Auth (its profile goes by the foreign key)."""
        await self._call("DELETE", f"/auth/v1/admin/users/{user_id}", None)

    async def set_banned(self, user_id: uuid.UUID, banned: bool) -> None:
        """Ban or unban the login so Supabase Auth itself refuses it."""
        await self._call(
            "PUT",
            f"/auth/v1/admin/users/{user_id}",
            {"ban_duration": _BAN_FOREVER if banned else "none"},
        )

    async def _call(self, method: str, path: str, body: dict[str, Any] | None) -> dict[str, Any]:
        try:
            response = await self.http.request(
                method, self.base_url + path, json=body, headers=self._headers()
            )
        except httpx.HTTPError as error:
            raise ServiceUnavailable(N_("Supabase Auth não respondeu")) from error
        if response.status_code in (409, 422) and "already" in response.text:
            raise Conflict(N_("já existe um usuário com este e-mail"))
        if response.status_code == 422:
            raise ValidationFailed(N_("Supabase Auth recusou os dados do usuário"))
        if response.status_code >= 400:
            raise ServiceUnavailable(
                N_("Supabase Auth respondeu {status}", status=response.status_code)
            )
        result: dict[str, Any] = response.json() if response.content else {}
        return result


def build_directory(settings: Settings, http: httpx.AsyncClient) -> UserDirectory:
    """The directory of the configured auth provider."""
    if settings.auth_provider is AuthProvider.SUPABASE:
        # Settings validation guarantees both when AUTH_PROVIDER=supabase.
        assert settings.supabase_service_role_key is not None
        assert settings.supabase_url is not None
        return SupabaseDirectory(
            http=http,
            base_url=settings.supabase_url.rstrip("/"),
            service_key=settings.supabase_service_role_key.get_secret_value(),
        )
    return LocalDirectory()
