"""Redis client: one blocking pool per process (redis-py 8's plain pool raises at its limit)."""

from __future__ import annotations

from redis.asyncio import BlockingConnectionPool, Redis

from zapcrm.config import Settings


def create_redis(settings: Settings, *, max_connections: int | None = None) -> Redis:
    """An asyncio Redis client whose pool waits for a free connection instead of failing."""
    # redis-py 8's asyncio ConnectionPool raises MaxConnectionsError at its limit (DESIGN.md §10).
    pool = BlockingConnectionPool.from_url(
        settings.redis_url,
        max_connections=max_connections or settings.redis_pool_size,
        timeout=5,
        socket_connect_timeout=2,
        socket_timeout=5,
        health_check_interval=30,
        decode_responses=True,
    )
    return Redis(connection_pool=pool)
