"""Ids read from data we did not type ourselves (queue payloads, live events, form fields)."""

from __future__ import annotations

import uuid


def uuid_or_none(value: object) -> uuid.UUID | None:
    """The UUID `value` spells (a string or a UUID); None for anything else, empty included."""
    if isinstance(value, uuid.UUID):
        return value
    if not isinstance(value, str):
        return None
    try:
        return uuid.UUID(value)
    except ValueError:
        return None
