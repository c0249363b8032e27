"""Chart geometry: a readable scale, bars that stand on the baseline in proportion, labels
thinned to a legible number, values written as the page writes them, and heat shades relative
to the busiest cell."""

from __future__ import annotations

from zapcrm.web.charts import HEAT_LEVELS, MAX_TICKS, grouped_bars, heat_level, nice_top
from zapcrm.web.i18n import use_locale
from zapcrm.web.templating import duration, number


def test_the_scale_tops_at_one_two_or_five_times_a_power_of_ten() -> None:
    assert [nice_top(value) for value in (0, 1, 2, 3, 7, 10, 11, 40, 99, 101, 1000, 1001)] == [
        1, 1, 2, 5, 10, 10, 20, 50, 100, 200, 1000, 2000,
    ]  # fmt: skip


def test_bars_are_proportional_to_the_top_and_stand_on_the_baseline() -> None:
    chart = grouped_bars(["a", "b", "c"], [[0, 4, 10], [2, 0, 5]], label=str)
    assert len(chart.bars) == 6
    by_place = {(bar.series, bar.category): bar for bar in chart.bars}
    full, half = by_place[(0, 2)], by_place[(1, 2)]
    assert full.height == chart.baseline - min(bar.y for bar in chart.bars)
    assert half.height * 2 == full.height
    assert by_place[(0, 0)].height == 0
    for bar in chart.bars:
        assert round(bar.y + bar.height, 2) == chart.baseline
    # Within a group the series sit side by side, and groups keep their order.
    assert by_place[(0, 1)].x < by_place[(1, 1)].x < by_place[(0, 2)].x
    assert [label.text for label in chart.scale] == ["0", "5", "10"]


def test_a_long_period_writes_at_most_the_tick_limit_of_labels() -> None:
    days = [str(day) for day in range(366)]
    chart = grouped_bars(days, [[1] * 366], label=str)
    assert len(chart.categories) <= MAX_TICKS
    assert chart.categories[0].text == "0"
    assert all(bar.width > 0 for bar in chart.bars)


def test_an_empty_period_draws_flat_bars_on_a_scale_of_one() -> None:
    chart = grouped_bars(["x"], [[0], [0]], label=str)
    assert {bar.height for bar in chart.bars} == {0}
    assert [label.text for label in chart.scale] == ["0", "1"]


def test_values_and_scale_are_written_by_the_pages_own_formatter() -> None:
    """Tooltips and scale read "1.234" in Portuguese and "1,234" in English, and a chart of
    durations reads them as the page's cards do ("2 min 30 s"), never the raw value."""
    with use_locale("pt_BR"):
        chart = grouped_bars(["seg."], [[1234], [7]], label=number)
    assert [bar.text for bar in chart.bars] == ["1.234", "7"]
    assert [label.text for label in chart.scale] == ["0", "1.000", "2.000"]
    with use_locale("en"):
        english = grouped_bars(["Mon"], [[1234]], label=number)
    assert english.bars[0].text == "1,234"
    assert english.scale[-1].text == "2,000"
    waits = grouped_bars(["seg."], [[150]], label=duration)
    assert waits.bars[0].text == "2 min 30 s"
    assert [label.text for label in waits.scale] == ["0 s", "1 min 40 s", "3 min 20 s"]


def test_heat_shades_are_relative_to_the_busiest_hour_and_zero_stays_blank() -> None:
    assert heat_level(0, 10) == 0
    assert heat_level(10, 10) == HEAT_LEVELS
    assert heat_level(0, 0) == 0
    # A square-root scale: an hour with 1/16 of the busiest one's messages is still shade 1,
    # a quarter of it is halfway.
    assert heat_level(1, 160) == 1
    assert heat_level(10, 160) == 1
    assert heat_level(40, 160) == 2
    assert heat_level(90, 160) == 3
    assert heat_level(91, 160) == 4
