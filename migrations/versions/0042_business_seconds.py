"""Reports can count times in business hours: a message at 22:00 answered at 08:05 next morning
waited five minutes of the team's time, not ten hours.

`app.business_seconds(since, until, opens, closes, breaks_from, breaks_until, holidays, zone)`
is the part of [since, until) that falls in the opening hours: `opens[d]` and `closes[d]` are ISO
weekday d's interval (1 = Monday) on the wall clock of `zone`, null when closed that weekday,
`breaks_from[d]` and `breaks_until[d]` the break inside it (lunch), null when none, and a day in
`holidays` is closed whatever its weekday. It walks the local days the span touches (usually
one to three), so a wait that lasts weeks costs a few dozen steps, and it reads the wall clock
per day, so 08:00 stays 08:00 across a change of UTC offset (hours/schedule.py reads them the
same way). Strict: an unanswered wait (no `until`) has no time.

PL/pgSQL rather than SQL: a SQL function with a FROM is never inlined, and the plain loop took
2.7 us a call against 7.5 us for generate_series over the days with the hours in a jsonb
(100,000 waits of up to three days). Stable, not immutable: a zone's rules come from the time
zone database, which an update can change. Names spelled out instead of a `set search_path`
clause, as app.folded_tags (0040).

Revision ID: 0042
Revises: 0041
Create Date: 2026-11-29
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0042"
down_revision: str | None = "0041"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_SIGNATURE = (
    "app.business_seconds(timestamptz, timestamptz, time[], time[], time[], time[], date[], text)"
)


def upgrade() -> None:
    op.execute(
        """
create function app.business_seconds(
  since timestamptz, until timestamptz, opens time[], closes time[],
  breaks_from time[], breaks_until time[], holidays date[], zone text
) returns double precision
language plpgsql stable strict parallel safe as $$
declare
  total double precision := 0;
  day date := pg_catalog.timezone(zone, since)::date;
  last_day date := pg_catalog.timezone(zone, until)::date;
  weekday integer;
begin
  while day <= last_day loop
    weekday := extract(isodow from day);
    if opens[weekday] is not null and not (day = any (holidays)) then
      total := total + greatest(0, extract(epoch from
        least(until, pg_catalog.timezone(zone, day + closes[weekday]))
        - greatest(since, pg_catalog.timezone(zone, day + opens[weekday]))));
      -- The break lies inside the day's hours (hours/schemas.py checks it): take its part.
      if breaks_from[weekday] is not null then
        total := total - greatest(0, extract(epoch from
          least(until, pg_catalog.timezone(zone, day + breaks_until[weekday]))
          - greatest(since, pg_catalog.timezone(zone, day + breaks_from[weekday]))));
      end if;
    end if;
    day := day + 1;
  end loop;
  return total;
end
$$;
"""
        + f"grant execute on function {_SIGNATURE} to authenticated, service_role;"
    )


def downgrade() -> None:
    op.execute(f"drop function {_SIGNATURE};")
