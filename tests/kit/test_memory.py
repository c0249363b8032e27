"""Values kept a few seconds in memory: reused while recent, read again when stale or when a
fresh read is asked, forgotten on demand, and never more than the bound."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from zapcrm.kit.memory import Memory


async def test_a_recent_value_is_reused_and_a_stale_or_forgotten_one_read_again() -> None:
    loads: list[str] = []

    def loader(key: str) -> Callable[[], Awaitable[str]]:
        async def load() -> str:
            loads.append(key)
            return f"{key}-{len(loads)}"

        return load

    kept: Memory[str, str] = Memory(ttl=60, max_entries=10)
    assert await kept.get("a", loader("a")) == "a-1"
    assert await kept.get("a", loader("a")) == "a-1"
    assert await kept.get("a", loader("a"), fresh=True) == "a-2"
    kept.forget("a")
    assert await kept.get("a", loader("a")) == "a-3"
    stale: Memory[str, str] = Memory(ttl=0, max_entries=10)
    await stale.get("b", loader("b"))
    await stale.get("b", loader("b"))
    assert loads == ["a", "a", "a", "b", "b"]


async def test_a_full_memory_starts_over_instead_of_growing() -> None:
    async def load() -> int:
        return 1

    kept: Memory[int, int] = Memory(ttl=60, max_entries=3)
    for key in range(10):
        await kept.get(key, load)
    assert len(kept._entries) <= 3
