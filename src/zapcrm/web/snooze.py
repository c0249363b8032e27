"""The chat header's quick snooze moments ("Por 1 hora", "Amanhã às 09:00", "Segunda às
09:00"), named by a preset and turned into a moment when the agent clicks, on the company's
clock: a page left open for hours still snoozes for an hour from the click.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from zapcrm.web.i18n import N_, translate

MORNING = time(9)
_LABELS = {
    "hour": N_("Por 1 hora"),
    "tomorrow": N_("Amanhã às 09:00"),
    "monday": N_("Segunda às 09:00"),
}


def _next_monday(today: date) -> date:
    return today + timedelta(days=(7 - today.weekday()) % 7 or 7)


def snooze_choices(now: datetime) -> list[tuple[str, str]]:
    """(preset, label) of the quick moments from `now` (zone-aware, on the company's clock);
    next Monday only when it is not tomorrow."""
    presets = ["hour", "tomorrow"]
    if _next_monday(now.date()) != now.date() + timedelta(days=1):
        presets.append("monday")
    return [(preset, translate(_LABELS[preset])) for preset in presets]


def moment_for(preset: str, now: datetime, zone: ZoneInfo) -> datetime | None:
    """The moment a preset means when clicked at `now`; None for an unknown preset."""
    local = now.astimezone(zone)
    if preset == "hour":
        return local + timedelta(hours=1)
    if preset == "tomorrow":
        return datetime.combine(local.date() + timedelta(days=1), MORNING, zone)
    if preset == "monday":
        return datetime.combine(_next_monday(local.date()), MORNING, zone)
    return None
