"""A version per private note, bumped on every edit (as messages and conversations have).

Note events are published by several worker batches at once; the panel keeps the copy with the
higher version, so a late event never brings back an older text.

Revision ID: 0018
Revises: 0017
Create Date: 2026-11-27
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute("alter table public.conversation_notes add column version bigint not null default 1")
    # app.bump_version() comes from migration 0014.
    op.execute(
        "create trigger conversation_notes_version before update on public.conversation_notes "
        "for each row execute function app.bump_version()"
    )


def downgrade() -> None:
    op.execute("drop trigger if exists conversation_notes_version on public.conversation_notes")
    op.execute("alter table public.conversation_notes drop column if exists version")
