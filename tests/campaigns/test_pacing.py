"""Pacing rules: gaps, batch pauses, the sending window, caps and warm-up."""

from __future__ import annotations

import random
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from zapcrm.campaigns import pacing

BRT = ZoneInfo("America/Sao_Paulo")
PACE = pacing.Pacing(
    min_gap_seconds=8,
    max_gap_seconds=20,
    batch_size=3,
    batch_pause_min_seconds=60,
    batch_pause_max_seconds=120,
    hourly_cap=70,
    daily_cap=300,
    warmup=True,
    window_start=time(8),
    window_end=time(20),
    weekdays=(1, 2, 3, 4, 5, 6, 7),
)


def brt(hour: int, minute: int = 0, day: int = 27) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=BRT)


def test_inside_the_window_nothing_waits() -> None:
    assert pacing.window_opens_at(brt(8), BRT, PACE) is None
    assert pacing.window_opens_at(brt(19, 59), BRT, PACE) is None


def test_before_the_window_it_waits_for_today_and_after_it_for_tomorrow() -> None:
    assert pacing.window_opens_at(brt(6, 30), BRT, PACE) == brt(8)
    assert pacing.window_opens_at(brt(20), BRT, PACE) == brt(8, day=28)
    # 01:00 UTC is still 22:00 of the day before in São Paulo: the next opening is that
    # Brazilian day's morning, not the UTC day's.
    late = datetime(2026, 11, 28, 1, 0, tzinfo=UTC)
    assert pacing.window_opens_at(late, BRT, PACE) == brt(8, day=28)


def test_a_day_it_does_not_send_on_waits_for_the_next_one_it_does() -> None:
    weekdays = pacing.Pacing(**{**PACE.__dict__, "weekdays": (1, 2, 3, 4, 5, 6)})
    # 2026-11-28 is a Saturday, the 29th a Sunday, the 30th a Monday.
    assert pacing.window_opens_at(brt(10, day=28), BRT, weekdays) is None
    assert pacing.window_opens_at(brt(20, 30, day=28), BRT, weekdays) == brt(8, day=30)
    assert pacing.window_opens_at(brt(10, day=29), BRT, weekdays) == brt(8, day=30)
    assert pacing.window_opens_at(brt(7, day=29), BRT, weekdays) == brt(8, day=30)
    only_sunday = pacing.Pacing(**{**PACE.__dict__, "weekdays": (7,)})
    assert pacing.window_opens_at(brt(21, day=29), BRT, only_sunday) == brt(8, day=29) + timedelta(
        days=7
    )


def test_gaps_are_random_within_the_range_and_a_full_batch_pauses() -> None:
    rng = random.Random(7)
    now = brt(10)
    at, in_batch = pacing.after_send(now, 0, PACE, rng)
    assert in_batch == 1
    assert 8 <= (at - now).total_seconds() <= 20
    gaps = {pacing.after_send(now, 0, PACE, rng)[0] for _ in range(20)}
    assert len(gaps) > 1  # not a fixed interval
    at, in_batch = pacing.after_send(now, 2, PACE, rng)  # the batch's third send
    assert in_batch == 0
    assert 60 <= (at - now).total_seconds() <= 120


def test_a_cap_waits_for_the_oldest_send_to_leave_the_period() -> None:
    oldest = brt(9, 15)
    assert pacing.cap_frees_at(69, 70, oldest, pacing.HOUR) is None
    assert pacing.cap_frees_at(70, 70, oldest, pacing.HOUR) == brt(10, 15)
    assert pacing.cap_frees_at(0, 70, None, pacing.HOUR) is None


def test_warm_up_grows_the_daily_limit_with_the_numbers_age() -> None:
    assert pacing.daily_limit(PACE, timedelta(hours=3)) == 30
    assert pacing.daily_limit(PACE, timedelta(days=1, hours=1)) == 60
    assert pacing.daily_limit(PACE, timedelta(days=30)) == 300  # the campaign's own cap
    no_warmup = pacing.Pacing(**{**PACE.__dict__, "warmup": False})
    assert pacing.daily_limit(no_warmup, timedelta(0)) == 300


def test_the_estimate_counts_gaps_pauses_and_the_hourly_cap() -> None:
    assert pacing.estimate_seconds(0, PACE) == 0
    # 6 sends of 3 per batch: 4 mean gaps of 14 s and 2 mean pauses of 90 s...
    assert pacing.estimate_seconds(6, PACE) == 4 * 14 + 2 * 90
    # ...unless the hourly cap holds the last ones for later hours: 2 an hour, the last two
    # go 2 hours from now.
    slow = pacing.Pacing(**{**PACE.__dict__, "hourly_cap": 2})
    assert pacing.estimate_seconds(6, slow) == 2 * 3600


# Office hours at 200 a day, no warm-up: the campaign of the QA report.
OFFICE = pacing.Pacing(
    **{
        **PACE.__dict__,
        "batch_size": 20,
        "daily_cap": 200,
        "warmup": False,
        "window_start": time(9),
        "window_end": time(18),
    }
)
# A number long in use: warm-up, when on, is over.
OLD_NUMBER = brt(9, day=1) - timedelta(days=365)


def office_day(day: int, month: int = 11) -> datetime:
    """09:00 BRT of a day of 2026 (the window's opening)."""
    return datetime(2026, month, day, 9, tzinfo=BRT)


def test_the_finish_counts_the_window_and_the_daily_cap_not_only_the_pace() -> None:
    """1,000 people at 200 a day from 09:00 to 18:00 take five days of the window: the last
    200 go on the fifth morning, as fast as the pace and the hourly cap let them."""
    last_day = pacing.estimate_seconds(200, OFFICE)
    assert last_day < 9 * 3600  # a day's 200 fit in the window
    # Monday 30 November, 10:00 BRT: Monday to Friday, the last ones on Friday 4 December.
    finish = pacing.finish_estimate(1000, OFFICE, BRT, brt(10, day=30), number_since=OLD_NUMBER)
    assert finish == office_day(4, 12) + timedelta(seconds=last_day)
    # The pace alone said well under a day.
    assert pacing.estimate_seconds(1000, OFFICE) < 24 * 3600
    # Started at 21:00, after the window: it opens the next morning, one day later.
    late = pacing.finish_estimate(1000, OFFICE, BRT, brt(21, day=30), number_since=OLD_NUMBER)
    assert late == office_day(5, 12) + timedelta(seconds=last_day)
    # Three people fit the rest of today.
    assert pacing.finish_estimate(3, OFFICE, BRT, brt(10, day=30), number_since=OLD_NUMBER) == brt(
        10, day=30
    ) + timedelta(seconds=pacing.estimate_seconds(3, OFFICE))
    assert pacing.finish_estimate(0, OFFICE, BRT, brt(10), number_since=OLD_NUMBER) == brt(10)


def test_the_finish_skips_the_days_the_campaign_does_not_send_on() -> None:
    weekdays = pacing.Pacing(**{**OFFICE.__dict__, "weekdays": (1, 2, 3, 4, 5)})
    # Friday 27 November, 10:00: Friday, then Monday to Thursday 3 December.
    finish = pacing.finish_estimate(1000, weekdays, BRT, brt(10, day=27), number_since=OLD_NUMBER)
    assert finish == office_day(3, 12) + timedelta(seconds=pacing.estimate_seconds(200, weekdays))


def test_the_days_own_sends_and_the_warm_up_hold_the_finish_back() -> None:
    # 150 of today's 200 already gone (this or another campaign on the number): 50 today.
    start = brt(10, day=30)
    finish = pacing.finish_estimate(
        250, OFFICE, BRT, start, number_since=OLD_NUMBER, sent_today=150
    )
    assert finish == office_day(1, 12) + timedelta(seconds=pacing.estimate_seconds(200, OFFICE))
    # A window that opens only tomorrow starts on a fresh day.
    evening = pacing.finish_estimate(
        200, OFFICE, BRT, brt(19, day=30), number_since=OLD_NUMBER, sent_today=200
    )
    assert evening == office_day(1, 12) + timedelta(seconds=pacing.estimate_seconds(200, OFFICE))
    # A number registered this morning warms up: 30, 60, 90, ... a day, so 1,000 people take
    # eight days (30 + 60 + ... + 210 = 840 in seven, the last 160 on the eighth).
    warming = pacing.Pacing(**{**OFFICE.__dict__, "warmup": True, "daily_cap": 300})
    new_number = office_day(30)
    finish = pacing.finish_estimate(1000, warming, BRT, new_number, number_since=new_number)
    assert finish == office_day(7, 12) + timedelta(seconds=pacing.estimate_seconds(160, warming))


def test_a_long_campaign_is_counted_to_its_day_and_an_endless_one_has_no_date() -> None:
    """100,000 people at 200 a day, every day: the 500th day of the window."""
    finish = pacing.finish_estimate(100_000, OFFICE, BRT, office_day(30), number_since=OLD_NUMBER)
    assert finish == office_day(30) + timedelta(
        days=499, seconds=pacing.estimate_seconds(200, OFFICE)
    )
    one_a_day = pacing.Pacing(**{**OFFICE.__dict__, "daily_cap": 1})
    assert (
        pacing.finish_estimate(10_000, one_a_day, BRT, office_day(30), number_since=OLD_NUMBER)
        is None
    )
