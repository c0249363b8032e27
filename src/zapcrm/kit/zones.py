"""Time zones by name, with the product's default: zapcrm's companies are Brazilian."""

from __future__ import annotations

from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

__all__ = ["DEFAULT_TIMEZONE", "zone_or_default"]

DEFAULT_TIMEZONE = "America/Sao_Paulo"


def zone_or_default(name: str | None) -> ZoneInfo:
    """The zone `name` names, or São Paulo's when it is unset or unknown to this system."""
    try:
        return ZoneInfo(name or DEFAULT_TIMEZONE)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo(DEFAULT_TIMEZONE)
