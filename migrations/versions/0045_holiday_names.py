"""A closed day added by hand can have a name ("Aniversário da cidade").

National holidays are named from the holidays library when the page is drawn; a day an admin
types in had no name. `holiday_names` maps a closed day's ISO date to the admin's name for it.
The dates themselves stay in `holidays` (date[]), which reports pass to app.business_seconds, so
nothing that reads the closed days changes; a row saved before this has no names.

A constant default: adding the column rewrites nothing.

Revision ID: 0045
Revises: 0044
Create Date: 2026-11-30
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0045"
down_revision: str | None = "0044"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute(
        "alter table public.business_hours"
        " add column holiday_names jsonb not null default '{}'::jsonb"
    )


def downgrade() -> None:
    op.execute("alter table public.business_hours drop column holiday_names")
