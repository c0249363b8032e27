"""Panel sign-in sessions: the browser holds an opaque cookie, Redis holds the tokens.

The access and refresh tokens never reach the browser (no JavaScript can read or leak them);
the cookie is a random id whose SHA-256 names the Redis hash. Each session also carries its
CSRF token. Refreshing is serialised per session with a short Redis lock because the auth
provider treats a refresh token presented twice as stolen and ends the whole session.
"""

from __future__ import annotations

import asyncio
import hashlib
import secrets
import time
from dataclasses import dataclass

from redis.asyncio import Redis

from zapcrm.auth.schemas import SessionOut

SESSION_PREFIX = "panel:session:"
# Refresh this long before the access token expires so a request never carries a token that
# lapses while it is being served.
REFRESH_MARGIN_SECONDS = 60
REFRESH_LOCK_SECONDS = 10
REFRESH_WAIT_SECONDS = 5.0


def _key(session_id: str) -> str:
    return SESSION_PREFIX + hashlib.sha256(session_id.encode()).hexdigest()


@dataclass(frozen=True)
class PanelSession:
    """One signed-in browser."""

    session_id: str
    access_token: str
    refresh_token: str
    access_expires_at: float
    csrf_token: str

    def needs_refresh(self, now: float) -> bool:
        """Whether the access token is about to lapse."""
        return now >= self.access_expires_at - REFRESH_MARGIN_SECONDS


class SessionStore:
    """Panel sessions in Redis, alive as long as the refresh token."""

    def __init__(self, redis: Redis, ttl_seconds: int) -> None:
        self._redis = redis
        self._ttl = ttl_seconds

    async def create(self, tokens: SessionOut) -> PanelSession:
        """A new session for freshly issued tokens (a new id, so a fixated cookie is useless)."""
        session = PanelSession(
            session_id=secrets.token_urlsafe(32),
            access_token=tokens.access_token,
            refresh_token=tokens.refresh_token,
            access_expires_at=time.time() + tokens.expires_in,
            csrf_token=secrets.token_urlsafe(32),
        )
        await self._save(session)
        return session

    async def load(self, session_id: str) -> PanelSession | None:
        """The session behind a cookie value, or None when unknown or expired."""
        if not session_id or len(session_id) > 100:
            return None
        fields = await self._redis.hgetall(_key(session_id))
        if not fields:
            return None
        values = {_text(name): _text(value) for name, value in fields.items()}
        return PanelSession(
            session_id=session_id,
            access_token=values["access_token"],
            refresh_token=values["refresh_token"],
            access_expires_at=float(values["access_expires_at"]),
            csrf_token=values["csrf_token"],
        )

    async def replace_tokens(self, session: PanelSession, tokens: SessionOut) -> PanelSession:
        """Store the tokens a refresh returned; the id and CSRF token stay."""
        renewed = PanelSession(
            session_id=session.session_id,
            access_token=tokens.access_token,
            refresh_token=tokens.refresh_token,
            access_expires_at=time.time() + tokens.expires_in,
            csrf_token=session.csrf_token,
        )
        await self._save(renewed)
        return renewed

    async def delete(self, session_id: str) -> None:
        """Forget the session (logout, or tokens no longer accepted)."""
        await self._redis.delete(_key(session_id))

    async def try_lock_refresh(self, session_id: str) -> bool:
        """Whether this request won the right to refresh the session's tokens."""
        locked = await self._redis.set(
            _key(session_id) + ":refresh", "1", nx=True, ex=REFRESH_LOCK_SECONDS
        )
        return bool(locked)

    async def release_refresh(self, session_id: str) -> None:
        """Let the next refresh happen."""
        await self._redis.delete(_key(session_id) + ":refresh")

    async def wait_for_refresh(self, session: PanelSession) -> PanelSession | None:
        """The session as another request refreshed it (None when that did not happen)."""
        deadline = time.monotonic() + REFRESH_WAIT_SECONDS
        while time.monotonic() < deadline:
            await asyncio.sleep(0.05)
            current = await self.load(session.session_id)
            if current is None:
                return None
            if current.refresh_token != session.refresh_token:
                return current
        return None

    async def _save(self, session: PanelSession) -> None:
        key = _key(session.session_id)
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.hset(
                key,
                mapping={
                    "access_token": session.access_token,
                    "refresh_token": session.refresh_token,
                    "access_expires_at": str(session.access_expires_at),
                    "csrf_token": session.csrf_token,
                },
            )
            pipe.expire(key, self._ttl)
            await pipe.execute()


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value
