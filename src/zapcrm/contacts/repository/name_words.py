"""SQL of the upkeep of the company's name words (migrations 0057-0058)."""

from __future__ import annotations

from typing import NamedTuple

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

PRUNE_BATCH = 500


class Pruned(NamedTuple):
    """One batch: the stale words looked at, and how many of them went."""

    looked_at: int
    removed: int


async def prune_name_words(session: AsyncSession, *, limit: int = PRUNE_BATCH) -> Pruned:
    """Of up to `limit` words marked stale (their contact went or was renamed), delete those
    no contact of the company holds any more and clear the others' mark."""
    result = await session.execute(
        text("select looked_at, removed from app.prune_name_words(:limit)"), {"limit": limit}
    )
    looked_at, removed = result.one()
    return Pruned(int(looked_at), int(removed))
