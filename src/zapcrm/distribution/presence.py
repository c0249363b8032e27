"""Who has the panel open: a short-lived Redis key per user, refreshed by their live stream.

The distributor gives chats only to people present, so someone who left the switch on and
closed the browser stops receiving chats within `PRESENCE_TTL` seconds instead of having them
pile up unseen.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable

from redis.asyncio import Redis

# The panel's stream refreshes the key every REFRESH seconds (its keepalive is 15 s); the
# TTL outlives two refreshes, so one slow beat does not make anyone absent.
PRESENCE_TTL = 75
PRESENCE_REFRESH = 30.0


def presence_key(company_id: uuid.UUID, user_id: uuid.UUID) -> str:
    """`presence:<company>:<user>`."""
    return f"presence:{company_id}:{user_id}"


async def mark_present(redis: Redis, company_id: uuid.UUID, user_id: uuid.UUID) -> None:
    """The user has the panel open (for the next PRESENCE_TTL seconds)."""
    await redis.set(presence_key(company_id, user_id), 1, ex=PRESENCE_TTL)


async def mark_absent(redis: Redis, company_id: uuid.UUID, user_id: uuid.UUID) -> None:
    """The user signed out."""
    await redis.delete(presence_key(company_id, user_id))


async def present_among(
    redis: Redis, company_id: uuid.UUID, user_ids: Iterable[uuid.UUID]
) -> set[uuid.UUID]:
    """Which of these users have the panel open (one round trip)."""
    ids = list(user_ids)
    if not ids:
        return set()
    values = await redis.mget([presence_key(company_id, user_id) for user_id in ids])
    return {user_id for user_id, value in zip(ids, values, strict=True) if value is not None}
