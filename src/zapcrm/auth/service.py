"""Sign-in flows: login, refresh with rotation, logout, and resolving a token to an Identity.

Each flow spans Postgres, Redis and (for Supabase) HTTP, so each one owns a short service
transaction and performs its Redis side effects (rate-limit counters, revocation markers)
strictly after that transaction commits.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

import httpx

from zapcrm.accounts import repository as accounts_repo
from zapcrm.accounts.directory import UserDirectory
from zapcrm.auth import repository
from zapcrm.auth.cache import AuthCache, CachedProfile
from zapcrm.auth.identity import Identity
from zapcrm.auth.passwords import verify_password
from zapcrm.auth.ratelimit import LoginRateLimiter
from zapcrm.auth.schemas import SessionOut, UserOut
from zapcrm.auth.tokens import TokenClaims, TokenIssuer, TokenVerifier
from zapcrm.config import Settings
from zapcrm.db import Database
from zapcrm.exceptions import (
    InvalidCredentials,
    InvalidToken,
    RateLimited,
    ServiceUnavailable,
    Unauthorized,
)
from zapcrm.i18n import N_
from zapcrm.logging import get_logger
from zapcrm.models import AuthUser, Profile, Role

log = get_logger(__name__)


class AccountDisabled(Unauthorized):
    """The password was right but the account is deactivated or banned."""

    code = "account_disabled"


def hash_refresh_token(token: str) -> str:
    """Refresh tokens are stored only as their SHA-256."""
    return hashlib.sha256(token.encode()).hexdigest()


def _profile_usable(user: AuthUser, profile: Profile | None, now: datetime) -> bool:
    if profile is None or not profile.active:
        return False
    return user.banned_until is None or user.banned_until <= now


def _user_out(user_id: uuid.UUID, profile: Profile | CachedProfile) -> UserOut:
    return UserOut(
        id=user_id,
        email=profile.email,
        display_name=profile.display_name,
        company_id=profile.company_id,
        role=profile.role,
    )


class AuthProviderClient(Protocol):
    """What differs between the local provider and Supabase Auth."""

    async def login(self, email: str, password: str) -> SessionOut:
        """Check the password and open a session."""

    async def refresh(self, refresh_token: str) -> SessionOut:
        """Exchange a refresh token for new tokens."""

    async def logout(self, identity: Identity, access_token: str) -> None:
        """End the caller's session."""


@dataclass
class LocalProvider:
    """Users in `auth.users` with bcrypt hashes; JWTs signed with SECRET_KEY."""

    db: Database
    cache: AuthCache
    issuer: TokenIssuer
    refresh_ttl: timedelta

    async def login(self, email: str, password: str) -> SessionOut:
        """Check the password and open a session."""
        now = datetime.now(UTC)
        async with self.db.service_session() as session:
            found = await accounts_repo.find_user_by_email(session, email)
            user, profile = found if found else (None, None)
            if not verify_password(password, user.encrypted_password if user else None):
                raise InvalidCredentials(N_("e-mail ou senha inválidos"))
            assert user is not None
            if not _profile_usable(user, profile, now):
                raise AccountDisabled(N_("esta conta está desativada"))
            assert profile is not None
            session_id = uuid.uuid4()
            refresh_token = await self._new_refresh_token(session, user.id, session_id, None, now)
            await accounts_repo.touch_last_sign_in(session, user.id, now)
        return self._session_out(user, profile, session_id, refresh_token, now)

    async def refresh(self, refresh_token: str) -> SessionOut:
        """Rotate: the presented token is used up; presenting it again revokes the session."""
        now = datetime.now(UTC)
        reused_session: uuid.UUID | None = None
        async with self.db.service_session() as session:
            row = await repository.lock_refresh_token(session, hash_refresh_token(refresh_token))
            if row is None or row.expires_at <= now:
                raise InvalidToken(N_("refresh token inválido ou expirado"))
            if row.used_at is not None or row.revoked_at is not None:
                # Reuse of a rotated token means it leaked: end the whole session (RFC 9700 4.14).
                await repository.revoke_session(session, row.session_id, now)
                reused_session = row.session_id
            else:
                found = await accounts_repo.get_user_with_profile(session, row.user_id)
                if found is None or not _profile_usable(found[0], found[1], now):
                    raise AccountDisabled(N_("esta conta está desativada"))
                user, maybe_profile = found
                assert maybe_profile is not None  # _profile_usable checked it
                profile = maybe_profile
                await repository.mark_used(session, row.id, now)
                new_token = await self._new_refresh_token(
                    session, user.id, row.session_id, row.id, now
                )
        if reused_session is not None:
            await self.cache.revoke_sessions([reused_session])
            log.warning("auth.refresh_token_reused", session_id=str(reused_session))
            raise InvalidToken(N_("refresh token já utilizado; a sessão foi encerrada"))
        return self._session_out(user, profile, row.session_id, new_token, now)

    async def logout(self, identity: Identity, access_token: str) -> None:
        """Revoke the session's refresh tokens and its access tokens."""
        if identity.session_id is None:
            return
        async with self.db.service_session() as session:
            await repository.revoke_session(session, identity.session_id, datetime.now(UTC))
        await self.cache.revoke_sessions([identity.session_id])

    async def _new_refresh_token(
        self,
        session: Any,
        user_id: uuid.UUID,
        session_id: uuid.UUID,
        parent_id: uuid.UUID | None,
        now: datetime,
    ) -> str:
        token = secrets.token_urlsafe(32)
        await repository.insert_refresh_token(
            session,
            user_id=user_id,
            session_id=session_id,
            token_hash=hash_refresh_token(token),
            expires_at=now + self.refresh_ttl,
            parent_id=parent_id,
        )
        return token

    def _session_out(
        self,
        user: AuthUser,
        profile: Profile,
        session_id: uuid.UUID,
        refresh_token: str,
        now: datetime,
    ) -> SessionOut:
        access_token, expires_in = self.issuer.issue(
            user_id=user.id,
            email=profile.email,
            session_id=session_id,
            app_metadata={"provider": "email", "providers": ["email"]},
            user_metadata={"display_name": profile.display_name},
            now=now,
        )
        return SessionOut(
            access_token=access_token,
            expires_in=expires_in,
            refresh_token=refresh_token,
            user=_user_out(user.id, profile),
        )


@dataclass
class SupabaseProvider:
    """Password login and refresh through Supabase Auth's REST API (GoTrue)."""

    http: httpx.AsyncClient
    base_url: str
    anon_key: str
    verifier: TokenVerifier
    profiles: ProfileLoader

    async def login(self, email: str, password: str) -> SessionOut:
        """Check the password with Supabase Auth and return its tokens."""
        body = await self._token_call("password", {"email": email, "password": password})
        return await self._session_out(body)

    async def refresh(self, refresh_token: str) -> SessionOut:
        """Let Supabase Auth rotate the refresh token (it detects reuse itself)."""
        body = await self._token_call("refresh_token", {"refresh_token": refresh_token})
        return await self._session_out(body)

    async def logout(self, identity: Identity, access_token: str) -> None:
        """Ask Supabase Auth to end the session (scope=local: this device only)."""
        try:
            response = await self.http.post(
                f"{self.base_url}/auth/v1/logout?scope=local",
                headers={"apikey": self.anon_key, "Authorization": f"Bearer {access_token}"},
            )
        except httpx.HTTPError as error:
            raise ServiceUnavailable(N_("Supabase Auth não respondeu")) from error
        if response.status_code >= 500:
            raise ServiceUnavailable(N_("Supabase Auth falhou ao encerrar a sessão"))

    async def _token_call(self, grant_type: str, payload: dict[str, str]) -> dict[str, Any]:
        try:
            response = await self.http.post(
                f"{self.base_url}/auth/v1/token?grant_type={grant_type}",
                json=payload,
                headers={"apikey": self.anon_key},
            )
        except httpx.HTTPError as error:
            raise ServiceUnavailable(N_("Supabase Auth não respondeu")) from error
        if response.status_code == 429:
            raise RateLimited(N_("muitas tentativas; tente mais tarde"), retry_after=60)
        if response.status_code >= 500:
            raise ServiceUnavailable(N_("Supabase Auth indisponível"))
        if response.status_code >= 400:
            if grant_type == "refresh_token":
                raise InvalidToken(N_("refresh token inválido ou expirado"))
            raise InvalidCredentials(N_("e-mail ou senha inválidos"))
        body: dict[str, Any] = response.json()
        return body

    async def _session_out(self, body: dict[str, Any]) -> SessionOut:
        claims = await self.verifier.verify(str(body.get("access_token", "")))
        profile = await self.profiles.load(claims.user_id)
        if profile is None or not profile.active:
            raise AccountDisabled(N_("esta conta está desativada"))
        return SessionOut(
            access_token=body["access_token"],
            expires_in=int(body.get("expires_in", 3600)),
            refresh_token=str(body.get("refresh_token", "")),
            user=_user_out(claims.user_id, profile),
        )


@dataclass
class ProfileLoader:
    """Profiles by user id, through the Redis cache."""

    db: Database
    cache: AuthCache

    async def load(self, user_id: uuid.UUID) -> CachedProfile | None:
        """The user's profile, or None when they have none (or are banned)."""
        cached, _ = await self.cache.lookup(user_id, None)
        if cached is not None:
            return cached
        return await self._load_from_db(user_id)

    async def _load_from_db(self, user_id: uuid.UUID) -> CachedProfile | None:
        async with self.db.service_session() as session:
            found = await accounts_repo.get_user_with_profile(session, user_id)
        if found is None:
            return None
        user, profile = found
        if profile is None:
            return None
        active = _profile_usable(user, profile, datetime.now(UTC))
        cached = CachedProfile(
            company_id=profile.company_id,
            role=profile.role,
            email=profile.email,
            display_name=profile.display_name,
            active=active,
        )
        await self.cache.store_profile(user_id, cached)
        return cached


@dataclass
class Authenticator:
    """Everything the HTTP edge needs to sign users in and to identify a bearer token."""

    provider: AuthProviderClient
    verifier: TokenVerifier
    limiter: LoginRateLimiter
    cache: AuthCache
    profiles: ProfileLoader
    directory: UserDirectory

    async def login(self, email: str, password: str, client_ip: str) -> SessionOut:
        """Rate-limited password login."""
        await self.limiter.check_and_count_attempt(email, client_ip)
        try:
            result = await self.provider.login(email, password)
        except InvalidCredentials:
            await self.limiter.record_failure(email)
            log.info("auth.login_failed", reason="invalid_credentials")
            raise
        await self.limiter.reset(email, client_ip)
        log.info("auth.login", user_id=str(result.user.id))
        return result

    async def refresh(self, refresh_token: str) -> SessionOut:
        """Exchange a refresh token."""
        return await self.provider.refresh(refresh_token)

    async def logout(self, identity: Identity, access_token: str) -> None:
        """End the caller's session."""
        await self.provider.logout(identity, access_token)
        log.info("auth.logout", user_id=str(identity.user_id))

    async def user_changed(self, user_id: uuid.UUID, *, deactivated: bool) -> None:
        """After a committed role or status change: drop caches, end sessions if deactivated."""
        if deactivated:
            await self.directory.set_banned(user_id, True)
            async with self.profiles.db.service_session() as session:
                session_ids = await repository.revoke_user(session, user_id, datetime.now(UTC))
            await self.cache.revoke_sessions(session_ids)
        await self.cache.forget_profile(user_id)

    async def identify(self, token: str) -> Identity:
        """Verify a bearer token and attach the user's current company and role."""
        claims = await self.verifier.verify(token)
        profile, revoked = await self.cache.lookup(claims.user_id, claims.session_id)
        if revoked:
            raise InvalidToken(N_("sessão encerrada"))
        if profile is None:
            profile = await self.profiles._load_from_db(claims.user_id)
        if profile is None or not profile.active:
            raise AccountDisabled(N_("esta conta está desativada"))
        return _identity(claims, profile)


def _identity(claims: TokenClaims, profile: CachedProfile) -> Identity:
    return Identity(
        user_id=claims.user_id,
        company_id=profile.company_id,
        role=Role(profile.role),
        email=profile.email,
        display_name=profile.display_name,
        session_id=claims.session_id,
        claims=claims.raw,
    )


def build_authenticator(
    settings: Settings,
    db: Database,
    cache: AuthCache,
    limiter: LoginRateLimiter,
    http: httpx.AsyncClient,
    verifier: TokenVerifier,
    directory: UserDirectory,
) -> Authenticator:
    """Wire the configured provider."""
    from zapcrm.config import AuthProvider

    profiles = ProfileLoader(db=db, cache=cache)
    provider: AuthProviderClient
    if settings.auth_provider is AuthProvider.SUPABASE:
        assert settings.supabase_url is not None
        assert settings.supabase_anon_key is not None
        provider = SupabaseProvider(
            http=http,
            base_url=settings.supabase_url.rstrip("/"),
            anon_key=settings.supabase_anon_key.get_secret_value(),
            verifier=verifier,
            profiles=profiles,
        )
    else:
        provider = LocalProvider(
            db=db,
            cache=cache,
            issuer=TokenIssuer(
                secret=settings.secret_key.get_secret_value(),
                issuer=settings.jwt_issuer,
                ttl_seconds=settings.access_token_ttl_seconds,
            ),
            refresh_ttl=timedelta(seconds=settings.refresh_token_ttl_seconds),
        )
    return Authenticator(
        provider=provider,
        verifier=verifier,
        limiter=limiter,
        cache=cache,
        profiles=profiles,
        directory=directory,
    )
