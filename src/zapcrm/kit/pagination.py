"""Keyset pagination cursors: opaque to clients, strict when parsed."""

from __future__ import annotations

import base64
import binascii
import uuid
from datetime import datetime

from zapcrm.exceptions import BadRequest
from zapcrm.i18n import N_


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
        raise BadRequest(N_("cursor de paginação inválido")) from None


def encode_key_cursor(at: datetime, key: str) -> str:
    """A cursor for rows ordered by (time, text key), e.g. a timeline mixing several tables."""
    raw = f"{at.isoformat()}|{key}"
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_key_cursor(cursor: str) -> tuple[datetime, str]:
    """Parse a cursor made by `encode_key_cursor`; BadRequest when it was tampered with."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        at_text, _, key = base64.urlsafe_b64decode(padded.encode()).decode().partition("|")
        if not key or len(key) > 100:
            raise ValueError(cursor)
        return datetime.fromisoformat(at_text), key
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise BadRequest(N_("cursor de paginação inválido")) from None
