"""Time zones by name, with the product's default (zapcrm's companies are Brazilian), and the
names people know them by ("Horário de Brasília"), from the CLDR data Babel carries."""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import lru_cache
from typing import NamedTuple
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from babel.core import get_global
from babel.dates import get_timezone, get_timezone_location, get_timezone_name

__all__ = ["DEFAULT_TIMEZONE", "ZoneChoices", "zone_choices", "zone_name", "zone_or_default"]

DEFAULT_TIMEZONE = "America/Sao_Paulo"
# The settings page lists the zones of the Americas and Europe (Brazil's first); the service
# accepts any IANA zone.
_OFFERED_REGIONS = ("America/", "Europe/", "Atlantic/")
# Babel falls back to an id's path for a few zones it knows under an older name
# ("Horário Argentina (Argentina/Buenos Aires)"): the last part is the city.
_ID_PATH = re.compile(r"[^\s(/]+/")


def zone_or_default(name: str | None) -> ZoneInfo:
    """The zone `name` names, or São Paulo's when it is unset or unknown to this system."""
    try:
        return ZoneInfo(name or DEFAULT_TIMEZONE)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo(DEFAULT_TIMEZONE)


@lru_cache(maxsize=1024)
def zone_name(name: str, locale: str) -> str:
    """The zone as people call it in `locale`: "Horário de Brasília" for America/Sao_Paulo in
    pt_BR, "Brasilia Time" in English; an id Babel does not know, as readable as it gets."""
    try:
        named = get_timezone_name(get_timezone(name), "long", locale=locale)
    except (LookupError, ValueError):
        return name.replace("_", " ")
    return _ID_PATH.sub("", named)


@lru_cache(maxsize=1024)
def _label(name: str, locale: str) -> str:
    """A zone in a list: its name and its city, as several cities share one name ("Horário de
    Brasília — Recife")."""
    named = zone_name(name, locale)
    try:
        city = get_timezone_location(get_timezone(name), locale=locale, return_city=True)
    except (LookupError, ValueError):
        return named
    city = _ID_PATH.sub("", city)
    return named if city in named else f"{named} — {city}"


class ZoneChoices(NamedTuple):
    """The zones a company may pick, as (IANA id, name): Brazil's (São Paulo first), then the
    others of the Americas and Europe by name."""

    brazil: tuple[tuple[str, str], ...]
    others: tuple[tuple[str, str], ...]


@lru_cache(maxsize=4)
def _offered(locale: str) -> ZoneChoices:
    territories: Mapping[str, str] = get_global("zone_territories")
    known = available_timezones()
    brazil: list[tuple[str, str]] = []
    others: list[tuple[str, str]] = []
    # CLDR's zone list has one id per place (tzdata adds old aliases of the same clocks).
    for zone in territories:
        if zone in known and zone.startswith(_OFFERED_REGIONS):
            group = brazil if territories[zone] == "BR" else others
            group.append((zone, _label(zone, locale)))
    brazil.sort(key=lambda item: (item[0] != DEFAULT_TIMEZONE, item[1].casefold()))
    others.sort(key=lambda item: item[1].casefold())
    return ZoneChoices(tuple(brazil), tuple(others))


def zone_choices(locale: str, current: str | None = None) -> ZoneChoices:
    """The zones a company may pick, named in `locale`; `current` joins the others when the
    list lacks it (an alias saved before), so saving the form keeps it."""
    offered = _offered(locale)
    if not current or any(zone == current for zone, _ in offered.brazil + offered.others):
        return offered
    return offered._replace(others=((current, _label(current, locale)), *offered.others))
