"""An import counts the rows it took without some of their values.

A row with a usable phone but one bad optional value (an e-mail without `@`, a stage the funnel
lacks, "muitos" in a number field) used to be refused whole, losing the person over one cell.
It is now imported without that value (contacts/importing/rows.py), listed in the failed-rows
file with the reason, and counted here so the job's summary says how many rows lost a value.

A constant default: adding the column rewrites nothing.

Revision ID: 0043
Revises: 0042
Create Date: 2026-11-29
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0043"
down_revision: str | None = "0042"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute("alter table public.import_jobs add column warned_count integer not null default 0")


def downgrade() -> None:
    op.execute("alter table public.import_jobs drop column warned_count")
