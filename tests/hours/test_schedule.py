"""Opening hours on a fixed clock: open or closed, the next opening, how a customer reads it."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

from zapcrm.hours.schedule import Schedule, is_open, next_opening, reopening_phrase
from zapcrm.hours.service import national_holidays

BRT = ZoneInfo("America/Sao_Paulo")
# Monday to Friday 08:00-18:00, Saturday 08:00-12:00, Sunday closed.
SHOP = Schedule(
    days={**{day: (time(8), time(18)) for day in range(1, 6)}, 6: (time(8), time(12))},
    zone=BRT,
)


def brt(day: int, hour: int, minute: int = 0) -> datetime:
    """A moment of November 2026 in São Paulo (the 27th is a Friday)."""
    return datetime(2026, 11, day, hour, minute, tzinfo=BRT)


def test_open_from_the_opening_minute_until_just_before_closing() -> None:
    assert not is_open(SHOP, brt(27, 7, 59))
    assert is_open(SHOP, brt(27, 8))
    assert is_open(SHOP, brt(27, 17, 59))
    assert not is_open(SHOP, brt(27, 18))
    assert is_open(SHOP, brt(28, 11, 59))  # Saturday morning
    assert not is_open(SHOP, brt(28, 12))
    assert not is_open(SHOP, brt(29, 10))  # Sunday


def test_hours_are_the_companys_wall_clock_not_utc() -> None:
    # 20:30 UTC on Friday is 17:30 in São Paulo: open; 21:30 UTC is 18:30 there: closed.
    assert is_open(SHOP, datetime(2026, 11, 27, 20, 30, tzinfo=UTC))
    assert not is_open(SHOP, datetime(2026, 11, 27, 21, 30, tzinfo=UTC))
    # 02:00 UTC on Saturday is still Friday 23:00 in São Paulo.
    assert next_opening(SHOP, datetime(2026, 11, 28, 2, tzinfo=UTC)) == brt(28, 8)


def test_a_holiday_is_closed_all_day_and_skipped_by_the_next_opening() -> None:
    holiday = Schedule(days=SHOP.days, zone=BRT, holidays=frozenset({date(2026, 11, 30)}))
    assert not is_open(holiday, brt(30, 10))
    assert next_opening(holiday, brt(28, 13)) == brt(1, 8).replace(month=12)


def test_the_next_opening_is_later_today_tomorrow_or_after_the_weekend() -> None:
    assert next_opening(SHOP, brt(27, 6)) == brt(27, 8)
    assert next_opening(SHOP, brt(26, 19)) == brt(27, 8)
    assert next_opening(SHOP, brt(28, 12, 30)) == brt(30, 8)  # Saturday afternoon -> Monday
    assert next_opening(Schedule(days={}, zone=BRT), brt(27, 6)) is None


def test_customers_read_the_reopening_in_words() -> None:
    assert reopening_phrase(brt(27, 13), brt(27, 12), BRT) == "hoje às 13:00"
    assert reopening_phrase(brt(27, 8), brt(26, 19), BRT) == "amanhã às 08:00"
    assert reopening_phrase(brt(30, 8), brt(28, 12, 30), BRT) == "segunda-feira às 08:00"
    assert reopening_phrase(brt(30, 8), brt(20, 12), BRT) == "em 30/11 às 08:00"


def test_national_holidays_include_the_movable_ones_named_in_portuguese() -> None:
    coming = national_holidays("BR", date(2026, 11, 28), date(2027, 11, 28))
    assert coming[date(2026, 12, 25)] == "Natal"
    assert coming[date(2027, 3, 26)] == "Sexta-feira Santa"  # Easter moves it every year
    assert date(2026, 11, 20) not in coming  # before the first day asked for
    assert national_holidays("XX", date(2026, 1, 1), date(2026, 12, 31)) == {}


LUNCH = Schedule(days=SHOP.days, zone=BRT, breaks={5: (time(12), time(13))})


def test_the_lunch_break_is_closed_and_the_reply_says_when_it_ends() -> None:
    assert is_open(LUNCH, brt(27, 11, 59))
    assert not is_open(LUNCH, brt(27, 12))  # Friday's lunch
    assert not is_open(LUNCH, brt(27, 12, 59))
    assert is_open(LUNCH, brt(27, 13))
    assert is_open(LUNCH, brt(26, 12, 30))  # Thursday has no break
    assert next_opening(LUNCH, brt(27, 12, 15)) == brt(27, 13)
    assert reopening_phrase(brt(27, 13), brt(27, 12, 15), BRT) == "hoje às 13:00"
    # After closing, the next opening is the next morning, not the break's end.
    assert next_opening(LUNCH, brt(27, 19)) == brt(28, 8)
