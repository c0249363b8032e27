"""When a campaign may send its next message: gaps, batch pauses, the sending window, hourly and
daily caps with warm-up (crm-features.md "Campaigns that do not get the number banned").

Pure functions of the campaign's settings and the clock, so every rule is tested without
waiting for it. The dispatcher (dispatch.py) asks them in this order: window, caps, then the
gap after a send. Times are aware datetimes; the window is in the company's time zone.
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
    """A rough time to send `pending` more messages at this pace: mean gaps and pauses, and
    no sooner than the hourly cap allows (the last ones wait for later hours); the window and
    the daily cap are not counted."""
    if pending <= 0:
        return 0.0
    gap = (pacing.min_gap_seconds + pacing.max_gap_seconds) / 2
    pause = (pacing.batch_pause_min_seconds + pacing.batch_pause_max_seconds) / 2
    paced = pending * gap + (pending // pacing.batch_size) * (pause - gap)
    later_hours = (pending - 1) // pacing.hourly_cap
    return max(paced, later_hours * HOUR.total_seconds())
