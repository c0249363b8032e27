"""`campaigns.follows_list`: a campaign to a static list also sends to people added later.

Issue 5's list rules put each new or imported contact matching a filter on a static list "and
later a campaign": a campaign that follows its list is that second step (a welcome message to
every new contact from the website, at the campaign's safe pace). It stays running while it
waits for new members; the dispatcher appends them to its recipients in the order they joined.

Revision ID: 0027
Revises: 0026
Create Date: 2026-11-28
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0027"
down_revision: str | None = "0026"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute(
        "alter table public.campaigns add column follows_list boolean not null default false"
    )


def downgrade() -> None:
    op.execute("alter table public.campaigns drop column follows_list")
