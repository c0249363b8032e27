"""Defensive readers for the loosely typed values Evolution API puts in JSON.

The same field changes representation across versions (evolution-api.md §2.1 "Binary/64-bit
field serialisation", §6.3): 64-bit integers arrive as numbers, decimal strings or protobuf.js
`{low, high, unsigned}` objects; bytes as base64 strings, `{"0": n, "1": n, ...}` objects or
lists; timestamps in seconds or milliseconds. Every reader here returns None instead of raising.
"""

from __future__ import annotations

import base64
import binascii
import math
import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, TypeVar

from zapcrm.evolution.payloads._errors import MalformedPayload

_T = TypeVar("_T")

_INT64_MIN = -(2**63)
_INT64_MAX = 2**63 - 1
_UINT32 = 2**32
_DECIMAL = re.compile(r"[+-]?[0-9]{1,40}")
_FLOAT = re.compile(r"[+-]?([0-9]+\.[0-9]*|\.[0-9]+|[0-9]+)([eE][+-]?[0-9]{1,4})?")


def as_dict(value: object) -> dict[str, Any] | None:
    """Return the value when it is a JSON object, else None."""
    return value if isinstance(value, dict) else None


def as_list(value: object) -> list[Any] | None:
    """Return the value when it is a JSON array, else None."""
    return value if isinstance(value, list) else None


def as_text(value: object) -> str | None:
    """Return a non-empty string, else None (Evolution uses `""` for "absent" in several fields)."""
    return value if isinstance(value, str) and value != "" else None


def as_bool(value: object) -> bool | None:
    """Return a JSON boolean (or the strings "true"/"false"), else None."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    return None


def _long_to_int(value: dict[str, Any]) -> int | None:
    """Decode a protobuf.js Long `{low, high, unsigned}` (2.3.6+ deep copy; 1.x send responses)."""
    low, high = value.get("low"), value.get("high")
    if type(low) is not int or type(high) is not int:
        return None
    unsigned = value.get("unsigned") is True
    if not -(2**31) <= low < _UINT32:
        # Hand-written and constructed payloads put the whole number in `low` (e.g. a 13-digit
        # `senderTimestampMs` in the contract's Example F); accept it when nothing is in `high`.
        return low if high == 0 else None
    if not -(2**31) <= high < _UINT32:
        return None
    combined = ((high % _UINT32) << 32) | (low % _UINT32)
    if not unsigned and combined >= 2**63:
        combined -= 2**64
    return combined


def parse_int(value: object) -> int | None:
    """Parse an integer from a number, decimal string or Long object; None outside signed 64-bit.

    The 64-bit bound keeps a hostile or corrupt value from reaching a `bigint` column.
    """
    result: int | None
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        result = value
    elif isinstance(value, float):
        result = int(value) if math.isfinite(value) and value.is_integer() else None
    elif isinstance(value, str):
        text = value.strip()
        result = int(text) if _DECIMAL.fullmatch(text) else None
    elif isinstance(value, dict):
        result = _long_to_int(value)
    else:
        result = None
    if result is None or not _INT64_MIN <= result <= _INT64_MAX:
        return None
    return result


def parse_float(value: object) -> float | None:
    """Parse a finite float from a number or numeric string (coordinates, durations)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        try:
            number = float(value)
        except OverflowError:
            return None
    elif isinstance(value, float):
        number = value
    elif isinstance(value, str) and _FLOAT.fullmatch(value.strip()):
        number = float(value.strip())
    elif isinstance(value, dict):
        as_int = _long_to_int(value)
        number = float(as_int) if as_int is not None else math.nan
    else:
        return None
    return number if math.isfinite(number) else None


def parse_timestamp(value: object) -> datetime | None:
    """Parse a point in time into an aware UTC datetime, or None.

    Accepts seconds (`messageTimestamp`), milliseconds (`timestampMs`, `senderTimestampMs`,
    1.x `datetime`), micro/nanoseconds, Long objects, decimal strings and ISO-8601 strings.
    The unit is detected by magnitude: 1e11 seconds is the year 5138, so anything larger is
    a finer unit. Zero and negatives mean "unset" in protobuf, so they give None.
    """
    if isinstance(value, datetime):
        return _as_utc(value)
    if isinstance(value, str) and not _FLOAT.fullmatch(value.strip()):
        return _parse_iso(value)
    as_int = parse_int(value)
    number = float(as_int) if as_int is not None else parse_float(value)
    if number is None or number <= 0:
        return None
    for threshold, divisor in ((1e17, 1e9), (1e14, 1e6), (1e11, 1e3)):
        if number >= threshold:
            number /= divisor
            break
    try:
        return datetime.fromtimestamp(number, tz=UTC)
    except (OverflowError, OSError, ValueError):
        return None


def _parse_iso(value: str) -> datetime | None:
    """Parse an ISO-8601 string into an aware UTC datetime, or None."""
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    return _as_utc(parsed)


def _as_utc(value: datetime) -> datetime:
    """Convert an aware datetime to UTC; a naive one is taken to be UTC already."""
    return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)


def _bytes_from_ints(items: list[Any]) -> bytes | None:
    """Build bytes from a list of 0..255 integers, or None if any item is not a byte."""
    if not all(type(item) is int and 0 <= item <= 255 for item in items):
        return None
    return bytes(items)


def parse_bytes(value: object) -> bytes | None:
    """Parse binary fields (`mediaKey`, `fileSha256`, ...) from any of their JSON forms, or None.

    <= 2.3.5 sends base64 strings; 2.3.6+ sends index-keyed objects `{"0": 115, ...}` (§2.1);
    Node's `Buffer.toJSON()` gives `{"type": "Buffer", "data": [...]}`; lists also occur.
    """
    if isinstance(value, bytes | bytearray):
        return bytes(value) or None
    if isinstance(value, str):
        return _bytes_from_base64(value)
    if isinstance(value, list):
        return _bytes_from_ints(value) or None
    if isinstance(value, dict):
        if value.get("type") == "Buffer" and isinstance(value.get("data"), list):
            return _bytes_from_ints(value["data"]) or None
        if not value or not all(
            isinstance(key, str) and key.isascii() and key.isdigit() for key in value
        ):
            return None
        indexes = sorted(int(key) for key in value)
        if indexes != list(range(len(indexes))):
            return None
        return _bytes_from_ints([value[str(index)] for index in indexes])
    return None


def _bytes_from_base64(value: str) -> bytes | None:
    """Decode standard or URL-safe base64, tolerating missing padding; None if not base64."""
    text = value.strip()
    if not text or not text.isascii():
        return None
    padded = text + "=" * (-len(text) % 4)
    for altchars in (None, b"-_"):
        try:
            return base64.b64decode(padded, altchars=altchars, validate=True) or None
        except (binascii.Error, ValueError):
            continue
    return None


def require_dict(value: object, path: str) -> dict[str, Any]:
    """Return the JSON object at `path` or raise MalformedPayload."""
    result = as_dict(value)
    if result is None:
        raise MalformedPayload(f"expected an object, got {type(value).__name__}", path=path)
    return result


def require_text(value: object, path: str) -> str:
    """Return the non-empty string at `path` or raise MalformedPayload."""
    result = as_text(value)
    if result is None:
        raise MalformedPayload(f"expected a non-empty string, got {value!r:.60}", path=path)
    return result


def first_text(*values: object) -> str | None:
    """Return the first non-empty string among the values."""
    for value in values:
        text = as_text(value)
        if text is not None:
            return text
    return None


def parse_each(data: object, parse_item: Callable[[object, str], _T]) -> list[_T]:
    """Parse an event whose `data` is one object or an array of them (§2.8, §2.11).

    An array keeps its usable items, so one odd entry in a 500-contact sync batch does not
    drop the other 499; it is malformed only when every entry is unusable.
    """
    if isinstance(data, dict):
        return [parse_item(data, "data")]
    if not isinstance(data, list):
        raise MalformedPayload(
            f"expected an object or an array, got {type(data).__name__}", path="data"
        )
    parsed: list[_T] = []
    first_error: MalformedPayload | None = None
    for index, item in enumerate(data):
        try:
            parsed.append(parse_item(item, f"data[{index}]"))
        except MalformedPayload as error:
            first_error = first_error or error
    if first_error is not None and not parsed:
        raise first_error
    return parsed
