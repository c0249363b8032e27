"""Keyset pagination cursors: opaque to clients, strict when parsed."""

from __future__ import annotations

import base64
import binascii
import uuid
from datetime import datetime

from zapcrm.exceptions import BadRequest


def encode_cursor(at: datetime | None, row_id: uuid.UUID) -> str:
    """An opaque cursor for the row (ordering time, id)."""
    raw = f"{at.isoformat() if at else ''}|{row_id}"
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime | None, uuid.UUID]:
    """Parse a cursor made by `encode_cursor`; BadRequest when it was tampered with."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        at_text, _, id_text = base64.urlsafe_b64decode(padded.encode()).decode().partition("|")
        at = datetime.fromisoformat(at_text) if at_text else None
        return at, uuid.UUID(id_text)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise BadRequest("cursor de paginação inválido") from None
