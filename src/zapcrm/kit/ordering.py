"""Reordering a list by hand (the up and down buttons of departments, stages and fields)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar

T = TypeVar("T")


def moved(items: Sequence[T], item: T, place: int) -> list[T]:
    """`items` in order with `item` taken out and put back at index `place` (0 is first; past
    the end is last)."""
    rest = [other for other in items if other != item]
    rest.insert(min(max(place, 0), len(rest)), item)
    return rest
