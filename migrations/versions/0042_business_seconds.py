"""Reports can count times in business hours: a message at 22:00 answered at 08:05 next morning
waited five minutes of the team's time, not ten hours.

`app.business_seconds(since, until, open_days, holidays, zone)` is the part of [since, until)
that falls in the opening hours: `open_days` maps an ISO weekday ("1" = Monday) to its
["HH:MM:SS", "HH:MM:SS"] interval on the wall clock of `zone` (a weekday left out is closed),
and a day in `holidays` is closed whatever its weekday. It walks the local days the span
touches (usually one to three), so a wait that lasts weeks costs a few dozen rows, and it reads
the wall clock per day, so 08:00 stays 08:00 across a change of UTC offset (hours/schedule.py
reads them the same way). Strict: an unanswered wait (no `until`) has no time.

Stable, not immutable: a zone's rules come from the time zone database, which an update can
change. Names spelled out instead of a `set search_path` clause, as app.folded_tags (0040).

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

_SIGNATURE = "app.business_seconds(timestamptz, timestamptz, jsonb, date[], text)"


def upgrade() -> None:
    op.execute(
        """
create function app.business_seconds(
  since timestamptz, until timestamptz, open_days jsonb, holidays date[], zone text
) returns double precision
language sql stable strict parallel safe as $$
  select coalesce(pg_catalog.sum(greatest(0, extract(epoch from
           least(until, pg_catalog.timezone(zone, day + cast(hours ->> 1 as time)))
           - greatest(since, pg_catalog.timezone(zone, day + cast(hours ->> 0 as time)))))), 0)
         ::double precision
  from pg_catalog.generate_series(
         cast(cast(pg_catalog.timezone(zone, since) as date) as timestamp),
         cast(cast(pg_catalog.timezone(zone, until) as date) as timestamp),
         interval '1 day') as day
  cross join lateral (
    select open_days -> cast(cast(extract(isodow from day) as integer) as text) as hours
  ) as opening
  where opening.hours is not null and not (cast(day as date) = any (holidays))
$$;
"""
        + f"grant execute on function {_SIGNATURE} to authenticated, service_role;"
    )


def downgrade() -> None:
    op.execute(f"drop function {_SIGNATURE};")
