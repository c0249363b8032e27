"""The search box finds a number by its last digits and an address by its domain.

Customers say "o número que termina em 4321", and a B2B team looks for everyone "@empresa.com.br";
both are ends of a value, which the existing btrees (read from the start) cannot answer. A btree
on the reversed value turns "ends with" into a prefix range (contacts/query/search.py), so each
is one index range scan through the tenant view instead of reading every contact of the
company. A btree costs the import and webhook writes little next to a trigram index, which
would answer any substring but write a dozen entries per value.

Built CONCURRENTLY, outside the revision's transaction (as 0029): a plain build would hold the
webhooks' contact writes for its whole length.

Revision ID: 0041
Revises: 0040
Create Date: 2026-11-28
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0041"
down_revision: str | None = "0040"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_INDEXES = {
    "contacts_phone_suffix_idx": "(company_id, reverse(phone_e164) text_pattern_ops)",
    "contacts_email_suffix_idx": "(company_id, reverse(lower(email)) text_pattern_ops)",
}


def upgrade() -> None:
    with op.get_context().autocommit_block():
        for name, columns in _INDEXES.items():
            op.execute(
                f"create index concurrently if not exists {name} on public.contacts {columns}"
            )


def downgrade() -> None:
    with op.get_context().autocommit_block():
        for name in _INDEXES:
            op.execute(f"drop index concurrently if exists public.{name}")
