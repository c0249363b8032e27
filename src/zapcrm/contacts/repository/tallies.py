"""SQL that keeps the funnel's stage counts (migration 0052) small to read."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

# A company's counts are this many rows at most before they are folded: what a board's read
# sums stays a handful of index entries.
FOLD_OVER_ROWS = 32


async def fold_stage_tallies(session: AsyncSession, *, rows_over: int = FOLD_OVER_ROWS) -> int:
    """Fold the counts of each company holding more than `rows_over` rows into one row per
    stage (sums unchanged, concurrent writers never wait: `app.fold_stage_tallies`); how many
    rows were folded. Service role; the caller commits."""
    result = await session.execute(
        text("select app.fold_stage_tallies(:rows_over)"), {"rows_over": rows_over}
    )
    return int(result.scalar_one())
