"""Message delivery statuses: every spelling Evolution API uses, and the forward-only rule."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Final, Literal, get_args

MessageStatus = Literal[
    "ERROR", "PENDING", "SERVER_ACK", "DELIVERY_ACK", "READ", "PLAYED", "DELETED"
]

_STATUS_NAMES: Final[frozenset[str]] = frozenset(get_args(MessageStatus))

# Baileys `WebMessageInfo.Status` numeric codes (§2.3); webhooks carry the string, but raw
# protos, Baileys logs and hand-made payloads may carry the number.
_STATUS_BY_CODE: Final[Mapping[int, MessageStatus]] = MappingProxyType(
    {0: "ERROR", 1: "PENDING", 2: "SERVER_ACK", 3: "DELIVERY_ACK", 4: "READ", 5: "PLAYED"}
)

# The Meta Cloud channel (`WHATSAPP-BUSINESS`) reports SENT/DELIVERED/READ/FAILED (§2.3).
_STATUS_ALIASES: Final[Mapping[str, MessageStatus]] = MappingProxyType(
    {"SENT": "SERVER_ACK", "DELIVERED": "DELIVERY_ACK", "FAILED": "ERROR"}
)

QUEUED: Final = "queued"
"""Our own status for an outbound message not yet handed to the gateway (never in a webhook)."""

STATUS_RANK: Final[Mapping[str, int]] = MappingProxyType(
    {
        QUEUED: 0,
        "PENDING": 1,
        "SERVER_ACK": 2,
        # ERROR sits between SERVER_ACK and DELIVERY_ACK (DESIGN.md §9): it beats a message not
        # yet delivered, never a delivered one, and a DELIVERY_ACK/READ/PLAYED arriving after it
        # wins. A PENDING or SERVER_ACK seen after ERROR is an earlier stage delivered late
        # (out-of-order retries, §6.2), so it must not hide the failure.
        "ERROR": 3,
        "DELIVERY_ACK": 4,
        "READ": 5,
        "PLAYED": 6,
    }
)
"""Rank of each stored status; a status may replace another only with a higher rank.

DELETED is absent on purpose: it is a flag on the message, not a delivery stage.
"""


def parse_status(value: object) -> MessageStatus | None:
    """Normalise a status string, alias or numeric code to a `MessageStatus`; None if unknown."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return _STATUS_BY_CODE.get(value)
    if not isinstance(value, str):
        return None
    text = value.strip().upper()
    if text.isascii() and text.isdigit() and len(text) < 3:
        return _STATUS_BY_CODE.get(int(text))
    if text in _STATUS_NAMES:
        return text  # type: ignore[return-value]  # membership checked against the Literal's args
    return _STATUS_ALIASES.get(text)


def status_advances(current: str | None, new: str | None) -> bool:
    """Return True when status `new` may replace the stored `current` status (DESIGN.md §9).

    Statuses only move forward (PENDING < SERVER_ACK < DELIVERY_ACK < READ < PLAYED); ERROR
    replaces only queued/PENDING/SERVER_ACK and is itself replaced by a later delivery ack;
    None and DELETED (a flag) never change anything; an unknown or missing `current` is
    replaced by any real status.
    """
    if new is None or new not in STATUS_RANK:
        return False
    current_rank = STATUS_RANK.get(current, -1) if current is not None else -1
    return STATUS_RANK[new] > current_rank
