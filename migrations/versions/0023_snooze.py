"""Snoozed conversations: `evolution_conversations.snoozed_until`.

A snoozed chat is `pending` with the moment it comes back; the worker reopens it then, and a
new message from the customer reopens it at once (crm-features.md "Conversations": snooze is
welcome). The partial index serves the worker's question, asked every few seconds: whose time
has come?

Revision ID: 0023
Revises: 0022
Create Date: 2026-11-28
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0023"
down_revision: str | None = "0022"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute(
        "alter table public.evolution_conversations add column snoozed_until timestamptz;"
        " create index evolution_conversations_snoozed_idx"
        " on public.evolution_conversations (snoozed_until) where snoozed_until is not null"
    )


def downgrade() -> None:
    op.execute("alter table public.evolution_conversations drop column snoozed_until")
