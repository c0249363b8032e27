"""Values kept a few seconds in process memory, for reads a hot path makes again and again
(the webhook's instance, the company's out-of-office rule).

Hand-written rather than `cachetools.TTLCache`: the loader is async and takes the caller's
database session, a caller may ask for a fresh read, and a full memory is cleared whole (a
flood of made-up keys cannot grow it), all in a dozen lines.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Hashable
from typing import Generic, TypeVar

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
