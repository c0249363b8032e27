"""Login rate limits in Redis: attempts per client IP and failures per account.

An attempt counts against its IP while it runs and stays counted only if it fails: a shop's
whole team signing in from one office address at the start of a shift must not lock itself out,
while a flood of guesses from one address still stops at the limit.
"""

from __future__ import annotations

import hashlib

from redis.asyncio import Redis

from zapcrm.exceptions import RateLimited


def _account_key(email: str) -> str:
    # Hashed so that Redis never holds the e-mail address in clear.
    digest = hashlib.sha256(email.lower().encode()).hexdigest()[:32]
    return f"auth:login-failures:{digest}"


def _ip_key(ip: str) -> str:
    return f"auth:login-attempts:{ip}"


class LoginRateLimiter:
    """Fixed-window counters; a blocked caller learns how long to wait."""

    def __init__(
        self, redis: Redis, *, max_failures: int, max_attempts_per_ip: int, window_seconds: int
    ) -> None:
        self._redis = redis
        self._max_failures = max_failures
        self._max_attempts = max_attempts_per_ip
        self._window = window_seconds
        # Only an existing counter goes down: one that expired meanwhile is not recreated.
        self._uncount = redis.register_script(
            "if redis.call('exists', KEYS[1]) == 1 then return redis.call('decr', KEYS[1]) end"
            " return 0"
        )

    async def check_and_count_attempt(self, email: str, ip: str) -> None:
        """Count this attempt for the IP; raise RateLimited if the IP or account is over limit."""
        ip_key, account_key = _ip_key(ip), _account_key(email)
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.incr(ip_key)
            pipe.expire(ip_key, self._window, nx=True)
            pipe.get(account_key)
            pipe.ttl(ip_key)
            pipe.ttl(account_key)
            attempts, _, failures, ip_ttl, account_ttl = await pipe.execute()
        if int(attempts) > self._max_attempts:
            raise RateLimited(
                "too many login attempts from this address; try again later",
                retry_after=max(int(ip_ttl), 1),
            )
        if failures is not None and int(failures) >= self._max_failures:
            raise RateLimited(
                "too many failed logins for this account; try again later",
                retry_after=max(int(account_ttl), 1),
            )

    async def record_failure(self, email: str) -> None:
        """Count a failed password for the account."""
        key = _account_key(email)
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.incr(key)
            pipe.expire(key, self._window, nx=True)
            await pipe.execute()

    async def reset(self, email: str, ip: str) -> None:
        """After a successful login: forget the account's failures and uncount the attempt."""
        await self._redis.delete(_account_key(email))
        await self._uncount(keys=[_ip_key(ip)])
