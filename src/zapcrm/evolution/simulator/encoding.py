"""Version-dependent serialisation of 64-bit integers and byte fields inside messages (§2.1)."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Any

__all__ = ["Bytes", "Long", "encode"]


@dataclass(frozen=True, slots=True)
class Long:
    """A protobuf 64-bit integer, rendered per version when the payload is encoded."""

    value: int
    unsigned: bool = True


@dataclass(frozen=True, slots=True)
class Bytes:
    """A protobuf bytes field, rendered per version when the payload is encoded."""

    data: bytes


def _int32(value: int) -> int:
    value &= 0xFFFFFFFF
    return value - (1 << 32) if value >= 1 << 31 else value


def encode(tree: Any, *, binary_objects: bool) -> Any:
    """Render markers: 2.3.6+ style objects, or the ≤ 2.3.5 / 1.x decimal and base64 strings."""
    if isinstance(tree, Long):
        if not binary_objects:
            return str(tree.value)
        # protobufjs Long keeps two signed 32-bit halves: a millisecond timestamp has high != 0.
        return {
            "low": _int32(tree.value),
            "high": _int32(tree.value >> 32),
            "unsigned": tree.unsigned,
        }
    if isinstance(tree, Bytes):
        if not binary_objects:
            return base64.b64encode(tree.data).decode("ascii")
        return {str(index): byte for index, byte in enumerate(tree.data)}
    if isinstance(tree, dict):
        return {key: encode(value, binary_objects=binary_objects) for key, value in tree.items()}
    if isinstance(tree, list | tuple):
        return [encode(value, binary_objects=binary_objects) for value in tree]
    return tree
