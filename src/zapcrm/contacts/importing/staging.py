"""SQL of the set-based import: COPY rows into a temporary staging table, then a few statements
per *wave* match, update and insert contacts for every row at once.

COPY cannot target a table under RLS (DESIGN.md §2, §10), and a staging table lets one
statement do what would otherwise be a round trip per row. The table lives for one batch inside
one transaction (`on commit drop`, dropped after the batch), so it also works through Supabase's
transaction pooler. Every statement names the company: workers run as the service role, which
bypasses RLS; the bulk endpoint runs the same statements under RLS.

Rows of one wave never share an identity key (the pipeline assigns waves), so a wave can be
applied set-wise; a later wave sees what earlier ones wrote, which is how a second row for the
same person in one file meets the contact the first row created.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import orjson
from psycopg import AsyncConnection
from psycopg.errors import UniqueViolation

from zapcrm.contacts.importing.rows import CleanContact

__all__ = [
    "Policy",
    "StagedBatch",
    "bump_wave",
    "copy_rows",
    "create_stage",
    "defer_shared_contacts",
    "drop_stage",
    "encode_row",
    "insert_new",
    "match_existing",
    "next_wave",
    "outcome_counts",
    "outcomes",
    "release_vanished",
    "settle_applied",
    "skip_existing",
    "update_existing",
]

Policy = Literal["skip", "fill_empty", "overwrite"]


@dataclass(frozen=True, slots=True)
class StagedBatch:
    """Rows ready for the staging table: how many, and their COPY text (`pipeline.stage_rows`
    gives each its wave and pre-made ids, 32 hex digits, for a new contact and for each of its
    identity keys)."""

    rows: int
    payload: bytes


_CREATE = """
create temp table import_stage (
  row_no integer primary key,
  wave integer not null,
  new_id uuid not null unique,
  key_ids uuid[] not null,
  phone text not null,
  keys text[] not null,
  name text not null,
  email text,
  source text,
  stage text,
  tags text[] not null,
  custom jsonb not null,
  contact_id uuid,
  outcome text
) on commit drop
"""

_COPY = (
    "copy import_stage (row_no, wave, new_id, key_ids, phone, keys, name, email, source, stage,"
    " tags, custom) from stdin"
)
# COPY's text format: backslash escapes, \N for NULL (built in Python, in the parsing thread,
# because psycopg's per-row write_row cost more than the COPY itself).
_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})
_ARRAY_ESCAPES = str.maketrans({"\\": "\\\\", '"': '\\"'})

# The owner of the row's canonical key wins over the owner of a legacy form; then the oldest key.
# The LATERAL ... LIMIT 1 keeps this an index probe per key whatever the statistics say: during
# a big import they lag far behind, and a plan that scans the company's keys once per staged row
# took minutes.
_MATCH = """
update import_stage s set contact_id = m.contact_id
from (
  select distinct on (k.row_no) k.row_no, owner.contact_id
  from (
    -- Probing in key order walks the index leaf pages in order: far fewer buffer misses
    -- once the company's keys outgrow shared_buffers.
    select s.row_no, k.value, k.position
    from import_stage s cross join lateral unnest(s.keys) with ordinality as k(value, position)
    where s.wave = %(wave)s and s.outcome is null
    order by k.value
  ) k
  cross join lateral (
    select i.contact_id, i.created_at from contact_identities i
    where i.company_id = %(company_id)s and i.kind = 'phone' and i.value = k.value
    limit 1
  ) owner
  order by k.row_no, k.position, owner.created_at
) m
where s.row_no = m.row_no
"""

# Two rows of a wave with different keys may still belong to one existing contact (it holds
# both numbers): the later row waits for the next wave, so rows of a contact apply in order.
_DEFER = """
update import_stage s set wave = s.wave + 1
from (
  select row_no, row_number() over (partition by contact_id order by row_no) as rank
  from import_stage
  where wave = %(wave)s and outcome is null and contact_id is not null
) d
where s.row_no = d.row_no and d.rank > 1
"""

_SKIP = """
update import_stage set outcome = 'skipped'
where wave = %(wave)s and outcome is null and contact_id is not null
"""

# New values per policy. Empty cells never erase: they mean "no data", not "clear the field".
# Tags are only ever added; the phone of an existing contact is its identity and stays.
_FILL_EMPTY = """
  case when c.name = '' then s.name else c.name end as new_name,
  case when coalesce(c.email, '') = '' then coalesce(s.email, c.email) else c.email end
    as new_email,
  case when coalesce(c.source, '') = '' then coalesce(s.source, c.source) else c.source end
    as new_source,
  case when coalesce(c.funnel_stage, '') = '' then coalesce(s.stage, c.funnel_stage)
    else c.funnel_stage end as new_stage,
  c.custom_fields || coalesce(
    (select jsonb_object_agg(e.key, e.value) from jsonb_each(s.custom) e
     where coalesce(c.custom_fields -> e.key, 'null'::jsonb) = 'null'::jsonb),
    '{}'::jsonb) as new_custom,
"""
_OVERWRITE = """
  case when s.name <> '' then s.name else c.name end as new_name,
  coalesce(s.email, c.email) as new_email,
  coalesce(s.source, c.source) as new_source,
  coalesce(s.stage, c.funnel_stage) as new_stage,
  c.custom_fields || s.custom as new_custom,
"""

_NEW_TUPLE = (
    "t.new_name, t.new_email, t.new_source, t.new_stage, t.new_tags, t.new_custom, t.new_phone"
)
_OLD_TUPLE = (
    "t.old_name, t.old_email, t.old_source, t.old_stage, t.old_tags, t.old_custom, t.old_phone"
)

# The staging table's primary key keeps every join on row_no an index lookup, whatever the
# planner guesses about CTE sizes (a nested loop over two 20,000-row sets took 72 s).
_UPDATE = """
with target as (
  select s.row_no, c.id as contact_id,
    c.name as old_name, c.email as old_email, c.source as old_source,
    c.funnel_stage as old_stage, c.tags as old_tags, c.custom_fields as old_custom,
    c.phone_e164 as old_phone,
    {values}
    c.tags || array(select t from unnest(s.tags) as t where t <> all(c.tags)) as new_tags,
    coalesce(c.phone_e164, s.phone) as new_phone
  from import_stage s
  cross join lateral (
    select * from contacts c
    where c.id = s.contact_id and c.company_id = %(company_id)s
    limit 1
    for update
  ) c
  where s.wave = %(wave)s and s.outcome is null
),
changed as (
  update contacts c set
    name = t.new_name, email = t.new_email, source = t.new_source,
    funnel_stage = t.new_stage, tags = t.new_tags, custom_fields = t.new_custom,
    phone_e164 = t.new_phone
  from target t
  where c.id = t.contact_id and ({new}) is distinct from ({old})
  returning c.id, t.row_no, (
    select jsonb_object_agg(f.field, jsonb_build_object('from', f.old, 'to', f.new))
    from (values
      ('name', to_jsonb(t.old_name), to_jsonb(t.new_name)),
      ('email', to_jsonb(t.old_email), to_jsonb(t.new_email)),
      ('source', to_jsonb(t.old_source), to_jsonb(t.new_source)),
      ('funnel_stage', to_jsonb(t.old_stage), to_jsonb(t.new_stage)),
      ('tags', to_jsonb(t.old_tags), to_jsonb(t.new_tags)),
      ('custom_fields', t.old_custom, t.new_custom),
      ('phone_e164', to_jsonb(t.old_phone), to_jsonb(t.new_phone))
    ) as f(field, old, new)
    where f.old is distinct from f.new
  ) as changes
),
logged as (
  insert into contact_events (company_id, contact_id, kind, actor_id, details)
  select %(company_id)s, ch.id, 'import.updated', %(actor_id)s,
    cast(%(details)s as jsonb) || jsonb_build_object('row', ch.row_no, 'changes', ch.changes)
  from changed ch
)
update import_stage s
set outcome = case when ({new}) is distinct from ({old}) then 'updated' else 'skipped' end
from target t
where s.row_no = t.row_no
"""

# A job's contacts carry the job and their row themselves (migration 0056): an event per
# created contact, with its three index entries, cost about a seventh of Postgres's time in a
# 1,000,000-row import. The timeline, recovery, list rules and merges read the columns.
_INSERT_CONTACTS = """
insert into contacts
  (id, company_id, phone_e164, name, email, source, funnel_stage, tags, custom_fields,
   import_job_id, import_row)
select s.new_id, %(company_id)s, s.phone, s.name, s.email,
  coalesce(s.source, %(default_source)s), s.stage, s.tags, s.custom,
  %(job_id)s, s.row_no
from import_stage s
where s.wave = %(wave)s and s.outcome is null and s.contact_id is null
order by s.new_id
"""

# Without a job (the bulk API, at most BULK_MAX_CONTACTS rows) the creation is an event whose
# details say how the contact came (`via`).
_INSERT_CONTACTS_LOGGED = """
with created as (
  insert into contacts
    (id, company_id, phone_e164, name, email, source, funnel_stage, tags, custom_fields)
  select s.new_id, %(company_id)s, s.phone, s.name, s.email,
    coalesce(s.source, %(default_source)s), s.stage, s.tags, s.custom
  from import_stage s
  where s.wave = %(wave)s and s.outcome is null and s.contact_id is null
  order by s.new_id
  returning id
)
insert into contact_events (company_id, contact_id, kind, actor_id, details)
select %(company_id)s, c.id, 'import.created', %(actor_id)s,
  cast(%(details)s as jsonb) || jsonb_build_object('row', s.row_no)
from created c join import_stage s on s.new_id = c.id
"""

# Keys go in value order so two imports racing for overlapping keys wait, never deadlock.
# The plain insert is the common case; a unique violation (someone claimed a key since the match:
# another import, a WhatsApp message) rolls it back and _INSERT_KEYS_RACING runs instead.
# The rows it creates keep no outcome: once their wave is done, a row of it without one was
# created (every other row got its outcome or moved to a later wave), which _COUNTS and
# _OUTCOMES read so. Marking them here rewrote every staged row once more (new versions and
# index entries of the staging table), ~14% of this statement's time.
_INSERT_KEYS = """
insert into contact_identities (id, company_id, contact_id, kind, value)
select k.id, %(company_id)s, s.new_id, 'phone', k.value
from import_stage s cross join unnest(s.keys, s.key_ids) as k(value, id)
where s.wave = %(wave)s and s.outcome is null and s.contact_id is null
order by k.value
"""

# A row whose keys were not all claimed lost a race: the caller rolls the wave back and retries
# that row in the next wave, where it meets the winner.
_INSERT_KEYS_RACING = """
with added as (
  insert into contact_identities (id, company_id, contact_id, kind, value)
  select k.id, %(company_id)s, s.new_id, 'phone', k.value
  from import_stage s cross join unnest(s.keys, s.key_ids) as k(value, id)
  where s.wave = %(wave)s and s.outcome is null and s.contact_id is null
  order by k.value
  on conflict on constraint contact_identities_company_kind_value_key do nothing
  returning contact_id
),
claimed as (select contact_id, count(*) as n from added group by contact_id),
settled as (
  update import_stage s set contact_id = s.new_id, outcome = 'created'
  from claimed c
  where c.contact_id = s.new_id and c.n = cardinality(s.keys)
    and s.wave = %(wave)s and s.outcome is null and s.contact_id is null
  returning s.row_no
)
select s.row_no from import_stage s
where s.wave = %(wave)s and s.outcome is null and s.contact_id is null
  and s.row_no not in (select row_no from settled)
"""

# After an interrupted attempt some rows of a chunk may already be applied (a lane committed its
# part, the chunk's checkpoint did not): the contacts this job created name it and their row,
# the events it wrote name the rows it changed, so the retry counts them as before instead of as
# skipped. An "import.created" event stands for a created row too: a merge writes one for the
# contact it folds away (contacts/repository/crud.py), and imports before migration 0056 wrote
# one per contact.
_ALREADY_APPLIED = """
update import_stage s set outcome = done.outcome
from (
  select s.row_no, applied.outcome
  from import_stage s
  cross join lateral (
    select 'created' as outcome from contacts c
    where c.id = s.contact_id and c.company_id = %(company_id)s
      and c.import_job_id = %(job)s and c.import_row = s.row_no
    union all
    select case e.kind when 'import.created' then 'created' else 'updated' end
    from contact_events e
    where e.contact_id = s.contact_id and e.company_id = %(company_id)s
      and e.kind in ('import.created', 'import.updated')
      and e.details ->> 'job_id' = %(job_id)s and e.details ->> 'row' = s.row_no::text
    limit 1
  ) applied
  where s.wave = %(wave)s and s.outcome is null and s.contact_id is not null
) done
where s.row_no = done.row_no
"""

# A matched contact deleted before the update locked it: the row creates a new one instead.
_RELEASE_VANISHED = """
update import_stage set contact_id = null
where wave = %(wave)s and outcome is null and contact_id is not null
"""

_BUMP = "update import_stage set wave = wave + 1 where row_no = any(%(rows)s)"
_DROP = "drop table import_stage"
# Rows of the waves done that have no outcome were created (_INSERT_KEYS): only later waves
# may still hold rows to apply.
_NEXT_WAVE = "select min(wave) from import_stage where outcome is null and wave > %(wave)s"
_COUNTS = "select coalesce(outcome, 'created'), count(*) from import_stage group by 1"
_OUTCOMES = (
    "select row_no, coalesce(outcome, 'created'), coalesce(contact_id, new_id)"
    " from import_stage order by row_no"
)


async def create_stage(pg: AsyncConnection[Any]) -> None:
    """Create this transaction's staging table."""
    await pg.execute(_CREATE)


# str.translate walks every character through the table in Python-level lookups; the regex
# scan that finds nothing to escape (nearly every cell) is several times cheaper.
_NEEDS_COPY_ESCAPE = re.compile(r"[\\\t\n\r]")
_NEEDS_ARRAY_ESCAPE = re.compile(r'[\\"]')


def _copy_text(value: str | None) -> str:
    if value is None:
        return "\\N"
    return value.translate(_COPY_ESCAPES) if _NEEDS_COPY_ESCAPE.search(value) else value


def _copy_array(values: list[str]) -> str:
    if not values:
        return "{}"
    quoted = (
        value.translate(_ARRAY_ESCAPES) if _NEEDS_ARRAY_ESCAPE.search(value) else value
        for value in values
    )
    return _copy_text('{"' + '","'.join(quoted) + '"}')


# A row whose text holds none of these needs no escaping at all: the cleaned fields never hold
# tabs or line breaks (rows.py joins whitespace), so nearly every row takes the plain join.
_NEEDS_ANY_ESCAPE = re.compile(r'[\\\t\n\r"]')
_NULL = "\\N"


def encode_row(
    row_no: int, wave: int, new_id: str, key_ids: list[str], contact: CleanContact
) -> str:
    """One staged row as a line of COPY text (without its line end)."""
    name, email, source, stage, tags = (
        contact.name,
        contact.email,
        contact.source,
        contact.stage,
        contact.tags,
    )
    custom = (
        orjson.dumps(contact.custom).decode().translate(_COPY_ESCAPES) if contact.custom else "{}"
    )
    if _NEEDS_ANY_ESCAPE.search(f"{name}{email}{source}{stage}{''.join(tags)}"):
        fields = (
            _copy_text(name),
            _copy_text(email),
            _copy_text(source),
            _copy_text(stage),
            _copy_array(tags),
        )
    else:
        fields = (
            name,
            _NULL if email is None else email,
            _NULL if source is None else source,
            _NULL if stage is None else stage,
            '{"' + '","'.join(tags) + '"}' if tags else "{}",
        )
    return "\t".join(
        (
            str(row_no),
            str(wave),
            new_id,
            "{" + ",".join(key_ids) + "}",
            contact.phone,
            "{" + ",".join(contact.keys) + "}",  # digits only: nothing to quote
            *fields,
            custom,
        )
    )


async def copy_rows(pg: AsyncConnection[Any], payload: bytes) -> None:
    """COPY a batch's payload (`pipeline.stage_rows`) into the staging table."""
    async with pg.cursor() as cursor, cursor.copy(_COPY) as copy:
        await copy.write(payload)


async def match_existing(pg: AsyncConnection[Any], company_id: uuid.UUID, wave: int) -> None:
    """Point the wave's rows at the contacts that already own one of their keys."""
    await pg.execute(_MATCH, {"company_id": company_id, "wave": wave})


async def settle_applied(
    pg: AsyncConnection[Any], company_id: uuid.UUID, wave: int, job_id: str
) -> None:
    """Give rows an earlier attempt of this job already applied their recorded outcome."""
    # The job as the contacts' column holds it, and as the events' details spell it.
    params = {"company_id": company_id, "wave": wave, "job": uuid.UUID(job_id), "job_id": job_id}
    await pg.execute(_ALREADY_APPLIED, params)


async def drop_stage(pg: AsyncConnection[Any]) -> None:
    """Drop the staging table (so another batch can run in the same transaction)."""
    await pg.execute(_DROP)


async def defer_shared_contacts(pg: AsyncConnection[Any], wave: int) -> int:
    """Move rows meeting a contact an earlier row of the wave meets to the next wave."""
    cursor = await pg.execute(_DEFER, {"wave": wave})
    return cursor.rowcount


async def skip_existing(pg: AsyncConnection[Any], wave: int) -> None:
    """Policy skip: rows of existing contacts change nothing."""
    await pg.execute(_SKIP, {"wave": wave})


async def update_existing(
    pg: AsyncConnection[Any],
    company_id: uuid.UUID,
    wave: int,
    policy: Policy,
    *,
    actor_id: uuid.UUID | None,
    details: dict[str, Any],
) -> None:
    """Policies fill_empty / overwrite: change existing contacts, log what changed."""
    values = _FILL_EMPTY if policy == "fill_empty" else _OVERWRITE
    await pg.execute(
        # Constant fragments only (the policy picks one), never user input.
        _UPDATE.format(values=values, new=_NEW_TUPLE, old=_OLD_TUPLE),
        {
            "company_id": company_id,
            "wave": wave,
            "actor_id": actor_id,
            "details": orjson.dumps(details).decode(),
        },
    )


async def insert_new(
    pg: AsyncConnection[Any],
    company_id: uuid.UUID,
    wave: int,
    *,
    default_source: str | None,
    job_id: uuid.UUID | None,
    actor_id: uuid.UUID | None,
    details: dict[str, Any],
) -> list[int]:
    """Create contacts (with their keys) for the wave's unmatched rows. A job's contacts name
    it and their row; without a job (the bulk API) each gets an "import.created" event with
    `details`.

    Returns the rows that lost a key to someone else; the caller must roll back to a savepoint
    taken before this call and retry them.
    """
    params = {
        "company_id": company_id,
        "wave": wave,
        "default_source": default_source,
        "job_id": job_id,
        "actor_id": actor_id,
        "details": orjson.dumps(details).decode(),
    }
    await pg.execute(_INSERT_CONTACTS if job_id is not None else _INSERT_CONTACTS_LOGGED, params)
    await pg.execute("savepoint import_keys")
    try:
        await pg.execute(_INSERT_KEYS, params)
    except UniqueViolation:
        await pg.execute("rollback to savepoint import_keys")
        cursor = await pg.execute(_INSERT_KEYS_RACING, params)
        lost = [row[0] for row in await cursor.fetchall()]
        await pg.execute("release savepoint import_keys")
        return lost
    await pg.execute("release savepoint import_keys")
    return []


async def release_vanished(pg: AsyncConnection[Any], wave: int) -> None:
    """Forget matches whose contact disappeared (deleted or merged) before it was updated."""
    await pg.execute(_RELEASE_VANISHED, {"wave": wave})


async def bump_wave(pg: AsyncConnection[Any], rows: Sequence[int]) -> None:
    """Send rows to the next wave."""
    await pg.execute(_BUMP, {"rows": list(rows)})


async def next_wave(pg: AsyncConnection[Any], done: int) -> int | None:
    """The lowest wave after `done` (applied) with rows still to apply, or None when there is
    none."""
    cursor = await pg.execute(_NEXT_WAVE, {"wave": done})
    row = await cursor.fetchone()
    return None if row is None else row[0]


async def outcome_counts(pg: AsyncConnection[Any]) -> dict[str, int]:
    """How many staged rows were created, updated and skipped (once every wave is done)."""
    cursor = await pg.execute(_COUNTS)
    return {outcome: count for outcome, count in await cursor.fetchall()}


async def outcomes(pg: AsyncConnection[Any]) -> list[tuple[int, str, uuid.UUID]]:
    """Every staged row's outcome and contact (once every wave is done)."""
    cursor = await pg.execute(_OUTCOMES)
    return [(row[0], row[1], row[2]) for row in await cursor.fetchall()]
