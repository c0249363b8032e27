"""Redis-side auth state: cached profiles and revoked sessions, read in one round trip."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import orjson
from redis.asyncio import Redis

PROFILE_TTL_SECONDS = 60


@dataclass(frozen=True, slots=True)
class CachedProfile:
    """What a request needs to know about its user besides the token."""

    company_id: uuid.UUID
    role: str
    email: str
    display_name: str
    active: bool

    def dumps(self) -> str:
        """Serialise for Redis."""
        return orjson.dumps(
            {
                "company_id": str(self.company_id),
                "role": self.role,
                "email": self.email,
                "display_name": self.display_name,
                "active": self.active,
            }
        ).decode()

    @classmethod
    def loads(cls, raw: str | bytes) -> CachedProfile:
        """Parse what `dumps` wrote."""
        data = orjson.loads(raw)
        return cls(
            company_id=uuid.UUID(data["company_id"]),
            role=data["role"],
            email=data["email"],
            display_name=data["display_name"],
            active=bool(data["active"]),
        )


def _profile_key(user_id: uuid.UUID) -> str:
    return f"auth:profile:{user_id}"


def _revoked_key(session_id: uuid.UUID) -> str:
    return f"auth:revoked-session:{session_id}"


class AuthCache:
    """Profile cache (short TTL, dropped on every change) and session revocation markers."""

    def __init__(self, redis: Redis, *, revocation_ttl_seconds: int) -> None:
        self._redis = redis
        self._revocation_ttl = revocation_ttl_seconds

    async def lookup(
        self, user_id: uuid.UUID, session_id: uuid.UUID | None
    ) -> tuple[CachedProfile | None, bool]:
        """The cached profile (or None) and whether the token's session was revoked."""
        if session_id is None:
            raw = await self._redis.get(_profile_key(user_id))
            return (CachedProfile.loads(raw) if raw else None), False
        raw, revoked = await self._redis.mget(_profile_key(user_id), _revoked_key(session_id))
        return (CachedProfile.loads(raw) if raw else None), revoked is not None

    async def store_profile(self, user_id: uuid.UUID, profile: CachedProfile) -> None:
        """Cache a profile read from Postgres."""
        await self._redis.set(_profile_key(user_id), profile.dumps(), ex=PROFILE_TTL_SECONDS)

    async def forget_profile(self, user_id: uuid.UUID) -> None:
        """Drop a cached profile after its role or status changed."""
        await self._redis.delete(_profile_key(user_id))

    async def revoke_sessions(self, session_ids: list[uuid.UUID]) -> None:
        """Reject access tokens of these sessions until they would have expired anyway."""
        if not session_ids:
            return
        async with self._redis.pipeline(transaction=False) as pipe:
            for session_id in session_ids:
                pipe.set(_revoked_key(session_id), "1", ex=self._revocation_ttl)
            await pipe.execute()
