"""Business hours for reports by a calendar joined once per statement instead of a PL/pgSQL call
per duration: a report on 100,000 cycles called app.business_seconds (0042) about a million
times (each duration in a mean and a percentile, the summary's totals and per-department rows,
every reply wait), 2.7-5 us each (bench/reports.py).

`app.business_calendar(first_day, last_day, opens, closes, breaks_from, breaks_until, holidays,
zone)` is one row per local day of [first_day, last_day]: the day's opening and closing, and
its break, as moments (the same wall-clock reading as app.business_seconds: 08:00 stays 08:00
across a change of UTC offset), and `before`, the business seconds of the calendar's earlier
days. A day closed (its weekday has no hours, or a holiday) opens and closes at its midnight; a
day with no break has one of no length at its opening.

`app.business_clock(moment, before, opens_at, closes_at, break_from, break_until)` is then the
business seconds from the calendar's start to `moment`, given the row of the local day the
moment falls in: an inlinable SQL expression. A day's hours lie inside that day, so every
earlier day's hours are wholly before the moment and every later day's after it, and the
business seconds of [since, until) are clock(until) - clock(since) (none when until comes
first): the sum app.business_seconds takes over the days between, in two lookups. Reports join
the calendar by `timezone(zone, moment)::date` and keep app.business_seconds for a moment
outside it (tests/reports/test_business_calendar.py compares both on random intervals).

The calendar is strict and says it has about 200 rows, which keeps it a function scan (a SQL
function that is strict is never inlined): with that estimate the planner expects one day per
moment and joins by hash, where the inlined body's unknown row count had it expect thousands
and sort every cycle to disk for merge joins.

Revision ID: 0048
Revises: 0047
Create Date: 2026-11-29
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0048"
down_revision: str | None = "0047"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_CALENDAR = "app.business_calendar(date, date, time[], time[], time[], time[], date[], text)"
_CLOCK = (
    "app.business_clock(timestamptz, double precision, timestamptz, timestamptz, timestamptz,"
    " timestamptz)"
)


def upgrade() -> None:
    op.execute(
        """
create function app.business_calendar(
  first_day date, last_day date, opens time[], closes time[],
  breaks_from time[], breaks_until time[], holidays date[], zone text
) returns table (
  day date, opens_at timestamptz, closes_at timestamptz, break_from timestamptz,
  break_until timestamptz, before double precision
)
language sql stable strict parallel safe rows 200 as $$
  select day, opens_at, closes_at, break_from, break_until,
         coalesce(sum(pg_catalog.date_part('epoch', closes_at - opens_at)
                      - pg_catalog.date_part('epoch', break_until - break_from))
                    over (order by day rows between unbounded preceding and 1 preceding), 0)
  from (
    select day, opens_at, greatest(opens_at, closes_at) as closes_at,
           coalesce(break_from, opens_at) as break_from,
           coalesce(greatest(break_from, break_until), opens_at) as break_until
    from (
      select day,
             case when open then pg_catalog.timezone(zone, day + opens[weekday])
                  else pg_catalog.timezone(zone, day::timestamp) end as opens_at,
             case when open then pg_catalog.timezone(zone, day + closes[weekday])
                  else pg_catalog.timezone(zone, day::timestamp) end as closes_at,
             case when open and breaks_until[weekday] is not null
                  then pg_catalog.timezone(zone, day + breaks_from[weekday]) end as break_from,
             case when open and breaks_from[weekday] is not null
                  then pg_catalog.timezone(zone, day + breaks_until[weekday]) end as break_until
      from (
        select g::date as day, extract(isodow from g)::integer as weekday,
               -- Closed: no hours that weekday, or a holiday.
               opens[extract(isodow from g)::integer] is not null
                 and closes[extract(isodow from g)::integer] is not null
                 and not (g::date = any (coalesce(holidays, array[]::date[]))) as open
        from pg_catalog.generate_series(first_day::timestamp, last_day::timestamp,
                                        interval '1 day') g
      ) days
    ) hours
  ) breaks
$$;

create function app.business_clock(
  moment timestamptz, before double precision, opens_at timestamptz, closes_at timestamptz,
  break_from timestamptz, break_until timestamptz
) returns double precision
language sql immutable parallel safe as $$
  select before
         + pg_catalog.date_part('epoch', least(greatest(moment, opens_at), closes_at) - opens_at)
         - pg_catalog.date_part(
             'epoch', least(greatest(moment, break_from), break_until) - break_from)
$$;
"""
        + f"grant execute on function {_CALENDAR} to authenticated, service_role;"
        + f"grant execute on function {_CLOCK} to authenticated, service_role;"
    )


def downgrade() -> None:
    op.execute(f"drop function {_CLOCK}; drop function {_CALENDAR};")
