"""A fixed-window counter in Redis for limiting how often something may be done."""

from __future__ import annotations

from redis.asyncio import Redis

from zapcrm.exceptions import RateLimited


async def hit(redis: Redis, key: str, *, limit: int, window_seconds: int, message: str) -> None:
    """Count one use of `key`; raise RateLimited(message) past `limit` uses in the window."""
    async with redis.pipeline(transaction=True) as pipe:
        pipe.incr(key)
        pipe.expire(key, window_seconds, nx=True)
        pipe.ttl(key)
        count, _, ttl = await pipe.execute()
    if int(count) > limit:
        raise RateLimited(message, retry_after=max(int(ttl), 1))
