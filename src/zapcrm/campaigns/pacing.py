"""When a campaign may send its next message: gaps, batch pauses, the sending window, hourly and
daily caps with warm-up (crm-features.md "Campaigns that do not get the number banned").

Pure functions of the campaign's settings and the clock, so every rule is tested without
waiting for it. The dispatcher (dispatch.py) asks them in this order: window, caps, then the
gap after a send; the panel and the API ask finish_estimate when the last message should go.
Times are aware datetimes; the window is in the company's time zone.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, fields
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

HOUR = timedelta(hours=1)
DAY = timedelta(days=1)
# Warm-up: a number new to zapcrm starts at this many campaign sends a day and may send this
# many more each day after, up to the campaign's daily cap (a number that suddenly sends
# hundreds of messages is what WhatsApp flags first).
WARMUP_FIRST_DAY = 30
WARMUP_STEP = 30
# How far ahead a finish is estimated (a daily cap of 1 and thousands of people: no date).
ESTIMATE_HORIZON = timedelta(days=3 * 366)


@dataclass(frozen=True)
class Pacing:
    """A campaign's pacing settings (the columns of `campaigns` with the same names)."""

    min_gap_seconds: int
    max_gap_seconds: int
    batch_size: int
    batch_pause_min_seconds: int
    batch_pause_max_seconds: int
    hourly_cap: int
    daily_cap: int
    warmup: bool
    window_start: time
    window_end: time
    weekdays: Sequence[int]  # ISO: 1 = Monday ... 7 = Sunday


PACING_COLUMNS = tuple(field.name for field in fields(Pacing))


def window_opens_at(now: datetime, zone: ZoneInfo, pacing: Pacing) -> datetime | None:
    """None while `now` is inside the window (between its hours, on one of its days) in
    `zone`; otherwise when it opens next (today's start before it, or the next day it sends)."""
    local = now.astimezone(zone)
    start, end = pacing.window_start, pacing.window_end
    today_sends = local.isoweekday() in pacing.weekdays
    if today_sends and start <= local.time() < end:
        return None
    if today_sends and local.time() < start:
        return datetime.combine(local.date(), start, tzinfo=zone)
    for ahead in range(1, 8):
        day = local.date() + timedelta(days=ahead)
        if day.isoweekday() in pacing.weekdays:
            return datetime.combine(day, start, tzinfo=zone)
    raise ValueError("a window without days")  # the schema and the table require one


def daily_limit(pacing: Pacing, number_age: timedelta) -> int:
    """Sends a day allowed for a number registered `number_age` ago."""
    if not pacing.warmup:
        return pacing.daily_cap
    days = max(number_age // DAY, 0)
    return min(pacing.daily_cap, WARMUP_FIRST_DAY + WARMUP_STEP * days)


def cap_frees_at(
    sent: int, cap: int, oldest: datetime | None, period: timedelta
) -> datetime | None:
    """None when `sent` sends in the last `period` leave room under `cap`; otherwise when the
    oldest of them leaves the period (the dispatcher looks again then)."""
    if sent < cap or oldest is None:
        return None
    return oldest + period


def after_send(
    now: datetime, sent_in_batch: int, pacing: Pacing, rng: random.Random
) -> tuple[datetime, int]:
    """When to send next after one more send, and the new count in the batch: a random gap
    between messages, and a longer random pause when a batch is complete. Random, not fixed:
    sends at exact intervals are a robot's signature."""
    count = sent_in_batch + 1
    if count >= pacing.batch_size:
        pause = rng.uniform(pacing.batch_pause_min_seconds, pacing.batch_pause_max_seconds)
        return now + timedelta(seconds=pause), 0
    gap = rng.uniform(pacing.min_gap_seconds, pacing.max_gap_seconds)
    return now + timedelta(seconds=gap), count


def estimate_seconds(pending: int, pacing: Pacing) -> float:
    """A rough time to send `pending` more messages at this pace without a stop: mean gaps and
    pauses, and no sooner than the hourly cap allows (the last ones wait for later hours). The
    window and the daily cap are finish_estimate's."""
    if pending <= 0:
        return 0.0
    gap = (pacing.min_gap_seconds + pacing.max_gap_seconds) / 2
    pause = (pacing.batch_pause_min_seconds + pacing.batch_pause_max_seconds) / 2
    paced = pending * gap + (pending // pacing.batch_size) * (pause - gap)
    later_hours = (pending - 1) // pacing.hourly_cap
    return max(paced, later_hours * HOUR.total_seconds())


def finish_estimate(
    pending: int,
    pacing: Pacing,
    zone: ZoneInfo,
    start: datetime,
    *,
    number_since: datetime,
    sent_today: int = 0,
) -> datetime | None:
    """When the last of `pending` messages should go if sending goes on from `start`: at the
    pace of estimate_seconds, only inside the sending window (its hours on its days, in
    `zone`), and no more a day than the number's daily limit (the cap, with warm-up from
    `number_since`). The number's `sent_today` sends (on `zone`'s calendar) use up part of
    the limit when the window still opens on `start`'s day. None when the last send is more
    than ESTIMATE_HORIZON ahead.

    Rough, as the dispatcher's rolling 24 hours are counted as days of the window, and the
    number's other campaigns after `start` are not known; but a campaign that may send 200 a
    day from 09:00 to 18:00 is told days, not the minutes of its pace alone."""
    if pending <= 0:
        return start
    left, at = pending, start
    today = start.astimezone(zone).date()
    while at - start <= ESTIMATE_HORIZON:
        at = window_opens_at(at, zone, pacing) or at
        used = sent_today if at.astimezone(zone).date() == today else 0
        if not used:
            skipped = _skip_whole_weeks(left, pacing, zone, at, number_since)
            if skipped is None:
                return None
            at, left = skipped
        closes = datetime.combine(at.astimezone(zone).date(), pacing.window_end, tzinfo=zone)
        room = max(daily_limit(pacing, at - number_since) - used, 0)
        sends = _sends_before(pacing, (closes - at).total_seconds(), min(left, room))
        if sends >= left:
            return at + timedelta(seconds=estimate_seconds(left, pacing))
        left -= sends
        at = closes
    return None


def _skip_whole_weeks(
    left: int, pacing: Pacing, zone: ZoneInfo, at: datetime, number_since: datetime
) -> tuple[datetime, int] | None:
    """When `at` opens a whole window and every day from then on sends alike (warm-up over),
    the weeks before the last one counted at once: the opening on the same weekday after
    them and the messages left then (a cap of 200 a day and 100,000 people is 500 days, not
    500 turns of the loop). `at` and `left` as they are otherwise; None past the horizon."""
    opened = at.astimezone(zone)
    if opened.time() != pacing.window_start:
        return at, left
    window = _window_seconds(pacing)
    age = at - number_since
    day = _sends_before(pacing, window, daily_limit(pacing, age))
    week = day * len(pacing.weekdays)
    settled = day == _sends_before(pacing, window, daily_limit(pacing, age + ESTIMATE_HORIZON))
    if not settled or not week or left <= week:
        return at, left
    weeks = (left - 1) // week
    if timedelta(weeks=weeks) > ESTIMATE_HORIZON:
        return None
    on = opened.date() + timedelta(weeks=weeks)
    return datetime.combine(on, pacing.window_start, tzinfo=zone), left - weeks * week


def _window_seconds(pacing: Pacing) -> float:
    """The length of one day's sending window."""
    day = datetime(2000, 1, 1)
    return (
        datetime.combine(day, pacing.window_end) - datetime.combine(day, pacing.window_start)
    ).total_seconds()


def _sends_before(pacing: Pacing, seconds: float, most: int) -> int:
    """How many sends, at most `most`, the pace fits in `seconds` (estimate_seconds grows with
    the count, so a binary search finds the last that fits)."""
    low, high = 0, most
    while low < high:
        middle = (low + high + 1) // 2
        if estimate_seconds(middle, pacing) < seconds:
            low = middle
        else:
            high = middle - 1
    return low
