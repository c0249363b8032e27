"""Validate the same-company keys of 0024-0025 against the rows already stored.

Adding a foreign key that checks existing rows holds a lock that blocks writes to the table for
the whole scan (minutes of refused webhooks on a big `evolution_messages`). So 0024-0025 add
them `NOT VALID` (new and changed rows are checked from then on) and this revision, in its own
transaction, validates them under a lock that lets reads and writes go on. A row that breaks a
key (another company's id) stops it here with the key's name: corruption to look at.

Revision ID: 0028
Revises: 0027
Create Date: 2026-11-28
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0028"
down_revision: str | None = "0027"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute(
        """
do $$
declare key record;
begin
  for key in
    select c.conrelid::regclass as tab, c.conname
    from pg_constraint c
    where c.contype = 'f' and not c.convalidated
      and c.connamespace = 'public'::regnamespace
    order by 1, 2
  loop
    execute format('alter table %s validate constraint %I', key.tab, key.conname);
  end loop;
end
$$
"""
    )


def downgrade() -> None:
    # Back to 0027's state: the same-company keys there, not yet validated.
    op.execute(
        """
do $$
declare key record;
begin
  for key in
    select c.conrelid::regclass as tab, c.conname, pg_get_constraintdef(c.oid) as definition
    from pg_constraint c
    join pg_attribute a on a.attrelid = c.confrelid and a.attnum = c.confkey[1]
    where c.contype = 'f' and c.convalidated and cardinality(c.conkey) = 2
      and a.attname = 'company_id' and c.connamespace = 'public'::regnamespace
    order by 1, 2
  loop
    execute format('alter table %s drop constraint %I, add constraint %I %s not valid',
      key.tab, key.conname, key.conname, key.definition);
  end loop;
end
$$
"""
    )
