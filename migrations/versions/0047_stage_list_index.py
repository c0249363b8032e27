"""A funnel stage's contacts, newest first, read straight from one index.

The contact list filtered by a stage (alone or with tags and dates, as saved segments often
are) is shown newest first. The planner walked `(company_id, created_at)` through every stage
to find a page: for "tag vip + stage + last 30 days" at 200,000 contacts it read 17,000 rows
(31 ms) for 51. Walking `(company_id, funnel_stage, created_at, id)` reads only that stage's
contacts: 1,700 rows, 5.8 ms (bench/search.py). It costs imports and webhook writes one more
btree entry per contact; the list filtered by stage is what every team opens every day.

Built CONCURRENTLY, outside the revision's transaction (as 0041): a plain build would hold the
webhooks' contact writes for its whole length.

Revision ID: 0047
Revises: 0046
Create Date: 2026-11-29
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0047"
down_revision: str | None = "0046"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The list's RECENT order (contacts/query/sorting.py): created_at, then id, both descending.
_COLUMNS = "(company_id, funnel_stage, created_at desc, id desc)"


def upgrade() -> None:
    with op.get_context().autocommit_block():
        op.execute(
            "create index concurrently if not exists contacts_company_stage_created_idx"
            f" on public.contacts {_COLUMNS}"
        )


def downgrade() -> None:
    with op.get_context().autocommit_block():
        op.execute("drop index concurrently if exists public.contacts_company_stage_created_idx")
