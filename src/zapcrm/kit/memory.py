"""Values kept a few seconds in process memory, for reads a hot path makes again and again
(the webhook's instance, each company's automation rules: `CompanyRules`).

Hand-written rather than `cachetools.TTLCache`: the loader is async and takes the caller's
database session, a caller may ask for a fresh read, and a full memory is cleared whole (a
flood of made-up keys cannot grow it), all in a dozen lines.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Awaitable, Callable, Hashable
from typing import Generic, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class Memory(Generic[K, V]):
    """At most `max_entries` values, each trusted for `ttl` seconds after it was loaded."""

    def __init__(self, *, ttl: float, max_entries: int) -> None:
        self._ttl = ttl
        self._max_entries = max_entries
        self._entries: dict[K, tuple[float, V]] = {}

    async def get(self, key: K, load: Callable[[], Awaitable[V]], *, fresh: bool = False) -> V:
        """The value of `key`: from memory when recent (and `fresh` is not asked), else `load`."""
        now = time.monotonic()
        kept = self._entries.get(key)
        if not fresh and kept is not None and now - kept[0] < self._ttl:
            return kept[1]
        value = await load()
        if len(self._entries) >= self._max_entries:
            self._entries.clear()
        self._entries[key] = (now, value)
        return value

    def forget(self, key: K | None = None) -> None:
        """Drop one key (or everything) after its value changed."""
        if key is None:
            self._entries.clear()
        else:
            self._entries.pop(key, None)


R = TypeVar("R")


class CompanyRules(Generic[R]):
    """Each company's rule of some automation (None when switched off), read by `load` and
    kept `ttl` seconds in process memory: the webhook asks for it on every inbound message.
    A change takes effect within `ttl` in every process, at once in the one that made it
    (`forget`)."""

    def __init__(self, *, ttl: float = 5.0, max_companies: int = 10_000) -> None:
        self._rules: Memory[uuid.UUID, R | None] = Memory(ttl=ttl, max_entries=max_companies)

    async def load(self, session: AsyncSession, company_id: uuid.UUID) -> R | None:
        """The company's rule as stored, or None when off (each automation reads its own)."""
        raise NotImplementedError

    async def for_company(self, session: AsyncSession, company_id: uuid.UUID) -> R | None:
        """The company's rule, from memory when recent."""
        return await self._rules.get(company_id, lambda: self.load(session, company_id))

    def forget(self, company_id: uuid.UUID | None = None) -> None:
        """Drop one company's rule (or all) after it changed."""
        self._rules.forget(company_id)
