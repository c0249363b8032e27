"""What the reports page draws from the volume report (the daily chart and the week's heat map)
and how it names the opening hours its times were counted in."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import time

from babel.dates import format_date, format_skeleton, get_day_names

from zapcrm.hours.schedule import Schedule
from zapcrm.reports.schemas import DayVolume, ReportVolume
from zapcrm.web.charts import BarChart, grouped_bars, heat_level
from zapcrm.web.i18n import N_, current_locale, translate
from zapcrm.web.templating import number


def opening_summary(schedule: Schedule) -> str:
    """The week's hours in a line, in the reader's language, weekdays with the same hours run
    together: "seg.–sex. 08:00–12:00 e 13:00–18:00; sáb. 08:00–12:00" ("" when never open)."""
    names = get_day_names("abbreviated", locale=current_locale())  # 0 is Monday
    runs: list[tuple[int, int, str]] = []  # (first weekday, last weekday, hours)
    for weekday in range(1, 8):
        hours = schedule.days.get(weekday)
        if hours is None:
            continue
        text = _span(hours, schedule.breaks.get(weekday))
        if runs and runs[-1][2] == text and runs[-1][1] == weekday - 1:
            runs[-1] = (runs[-1][0], weekday, text)
        else:
            runs.append((weekday, weekday, text))
    return "; ".join(
        f"{names[first - 1]}{'' if first == last else '–' + names[last - 1]} {text}"
        for first, last, text in runs
    )


def _span(hours: tuple[time, time], pause: tuple[time, time] | None) -> str:
    if pause is None:
        return f"{hours[0]:%H:%M}–{hours[1]:%H:%M}"
    return translate(
        N_(
            "{morning} e {afternoon}",
            morning=f"{hours[0]:%H:%M}–{pause[0]:%H:%M}",
            afternoon=f"{pause[1]:%H:%M}–{hours[1]:%H:%M}",
        )
    )


@dataclass(frozen=True)
class HeatCell:
    """One hour of one weekday: customer messages and the shade they get."""

    hour: int
    count: int
    level: int


@dataclass(frozen=True)
class HeatRow:
    """A weekday's 24 hours."""

    name: str
    cells: list[HeatCell]


@dataclass(frozen=True)
class VolumeView:
    """The chart of cycles started and closed per day, the day table, and the heat map."""

    chart: BarChart
    days: list[DayVolume]
    day_names: list[str]
    heat: list[HeatRow]
    inbound_total: int


def volume_view(volume: ReportVolume) -> VolumeView:
    """Draw the volume report in the reader's language (day and weekday names from CLDR)."""
    locale = current_locale()
    short = [format_skeleton("dM", day.day, locale=locale) for day in volume.days]
    chart = grouped_bars(
        short,
        [
            [day.cycles_started for day in volume.days],
            [day.cycles_closed for day in volume.days],
        ],
        label=number,
    )
    weekday_names = get_day_names("abbreviated", locale=locale)  # 0 is Monday
    highest = max((cell.messages_inbound for cell in volume.traffic), default=0)
    heat = [
        HeatRow(
            name=weekday_names[weekday - 1],
            cells=[
                HeatCell(
                    cell.hour, cell.messages_inbound, heat_level(cell.messages_inbound, highest)
                )
                for cell in volume.traffic
                if cell.weekday == weekday
            ],
        )
        for weekday in range(1, 8)
    ]
    return VolumeView(
        chart=chart,
        days=volume.days,
        day_names=[format_date(day.day, "medium", locale=locale) for day in volume.days],
        heat=heat,
        inbound_total=sum(cell.messages_inbound for cell in volume.traffic),
    )
