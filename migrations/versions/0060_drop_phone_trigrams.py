"""The contacts' phone numbers lose their trigram index: the inbox finds digits by the btrees.

Migration 0049 gave `phone_e164` a trigram GIN so the inbox search could look up "3+ digits
anywhere in the number". Each contact paid ~12 entries in it, written in random order: in
bench/import.py it cost ~6-12 s of ~90 s of Postgres's CPU for 1,000,000 contacts. The
contact search box already reads a number the way people type one (its start, with or without
`+55` and the DDD, or its last digits) from three btrees (0041, 0046 and the phone btree), and
the inbox now does the same (messaging/repository/inbox.py); a chat's JID, which holds its
number, keeps its own trigram index, so digits from the middle of a number still find the chat.
The filter operator "telefone contém" compares every contact of the company instead.

Dropped CONCURRENTLY (as 0049 built it): a plain drop would hold the webhooks' contact writes.

Revision ID: 0060
Revises: 0059
Create Date: 2026-11-30
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0060"
down_revision: str | None = "0059"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.get_context().autocommit_block():
        op.execute("drop index concurrently if exists public.contacts_phone_search_idx")


def downgrade() -> None:
    with op.get_context().autocommit_block():
        op.execute(
            "create index concurrently if not exists contacts_phone_search_idx"
            " on public.contacts using gin (phone_e164 gin_trgm_ops)"
        )
