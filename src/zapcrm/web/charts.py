"""Geometry of the panel's charts, drawn as server-rendered SVG.

Written here rather than with a charting library: the panel's Content-Security-Policy refuses
inline styles and scripts, which the SVG of maintained Python chart libraries (pygal, leather)
carries, while SVG's own attributes (x, y, width, height) are allowed. What is left to compute
is a handful of rectangles and a rounded scale.

Every number a chart writes (its scale, each bar's tooltip) goes through the caller's `label`,
the same formatter as the page's figures, so a chart reads "1.234" or "2 min 30 s" where the
cards and tables do, never a raw "1234".
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

# The drawing's own units; the <svg> scales to the width of its card.
WIDTH = 1000.0
HEIGHT = 220.0
LEFT = 48.0  # room for the scale's numbers
TOP = 12.0
BOTTOM = 28.0  # room for the day labels
MAX_TICKS = 14
HEAT_LEVELS = 4


@dataclass(frozen=True)
class Bar:
    """One value as a rectangle; `series` picks its colour, `category` its group, and `text` is
    the value as the page writes it (for the tooltip)."""

    x: float
    y: float
    width: float
    height: float
    series: int
    category: int
    value: int
    text: str


@dataclass(frozen=True)
class Label:
    """A text at a point: a category under the bars or a value of the scale."""

    x: float
    y: float
    text: str


@dataclass(frozen=True)
class BarChart:
    """Grouped bars: one group per category, one bar per series, on a shared 0..top scale."""

    width: float
    height: float
    baseline: float
    bars: list[Bar]
    categories: list[Label]
    scale: list[Label]


def nice_top(value: int) -> int:
    """The scale's top: 1, 2 or 5 times a power of ten, at least the value (and at least 1)."""
    if value <= 1:
        return 1
    power = 1
    while power * 10 < value:
        power *= 10
    return next(step * power for step in (1, 2, 5, 10) if step * power >= value)


def grouped_bars(
    categories: Sequence[str],
    series: Sequence[Sequence[int]],
    *,
    label: Callable[[int], str],
) -> BarChart:
    """A bar per value of each series, grouped by category (each series has a value per
    category), its values and scale written by `label` (the page's number or duration
    filter). At most MAX_TICKS category labels are written, evenly spaced."""
    count = len(categories)
    top = nice_top(max((value for values in series for value in values), default=0))
    baseline = HEIGHT - BOTTOM
    plot_height = baseline - TOP
    slot = (WIDTH - LEFT) / max(count, 1)
    gap = slot * 0.2
    bar_width = (slot - gap) / max(len(series), 1)
    bars = []
    for index, values in enumerate(series):
        for position, value in enumerate(values):
            height = plot_height * value / top
            bars.append(
                Bar(
                    x=round(LEFT + position * slot + gap / 2 + index * bar_width, 2),
                    y=round(baseline - height, 2),
                    width=round(bar_width, 2),
                    height=round(height, 2),
                    series=index,
                    category=position,
                    value=value,
                    text=label(value),
                )
            )
    step = math.ceil(count / MAX_TICKS) if count else 1
    labels = [
        Label(x=round(LEFT + position * slot + slot / 2, 2), y=HEIGHT - 8, text=text)
        for position, text in enumerate(categories)
        if position % step == 0
    ]
    scale = [
        Label(x=LEFT - 8, y=round(baseline - plot_height * fraction, 2), text=label(value))
        for fraction, value in ((0.0, 0), (0.5, top // 2 if top % 2 == 0 else None), (1.0, top))
        if value is not None
    ]
    return BarChart(
        width=WIDTH, height=HEIGHT, baseline=baseline, bars=bars, categories=labels, scale=scale
    )


def heat_level(value: int, highest: int) -> int:
    """A cell's shade, 0 (none) to HEAT_LEVELS (the busiest), on a square-root scale of the
    busiest cell: one exceptional hour (a campaign's answers) would leave every ordinary
    hour the palest shade on a linear one."""
    if value <= 0 or highest <= 0:
        return 0
    return max(1, math.ceil(HEAT_LEVELS * math.sqrt(value / highest)))
