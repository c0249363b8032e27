"""A name search in the newest-first list reads its names from the list's index, not the rows.

A name search shown newest first (the default) often walks `(company_id, created_at desc, id
desc)` and tests each contact's name until a page is full: ~4,000 contacts for "joao silvq",
~12,000 for "damaceno" at 1,000,000 contacts (bench/search.py). Each test fetched the contact's
row from the table, a random page per contact, for two columns. The same index with
`search_name`, `email` and `merged_into_id` included (all a name search's conditions read)
lets the planner walk it as an index-only scan; contacts/query/repository.py reads the ids of a
page that way, then only the page's rows. EXPLAIN ANALYZE on the bench's data (busy machine):
"joao silvq" 13 -> 9 ms of backend CPU, "damaceno" 44 -> 22 ms (the planner now walks rather
than rechecking all ~4,100 Damascenos with `<<%`).

It replaces the index without the included columns, so writes keep one btree for this order
(109 MB instead of 72 MB at 1,000,000 contacts). The widest entry stays under a btree entry's
limit (2,704 bytes): names hold at most 200 characters and addresses 320 (the table's checks),
2,084 bytes of included text when every character takes four bytes and none compresses
(checked with random supplementary-plane characters).
Built CONCURRENTLY, outside the revision's transaction (as 0047): a plain build would hold the
webhooks' contact writes for its whole length; the old index goes only once the new one is
there.

Revision ID: 0055
Revises: 0054
Create Date: 2026-11-29
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0055"
down_revision: str | None = "0054"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The list's RECENT order (contacts/query/sorting.py): created_at, then id, both descending.
_ORDER = "(company_id, created_at desc, id desc)"
# Every column a name search's conditions read (repository.py `_COVERED` lists the same).
_INCLUDED = "include (search_name, email, merged_into_id)"


def upgrade() -> None:
    with op.get_context().autocommit_block():
        op.execute(
            "create index concurrently if not exists contacts_company_created_covering_idx"
            f" on public.contacts {_ORDER} {_INCLUDED}"
        )
        op.execute("drop index concurrently if exists public.contacts_company_created_idx")


def downgrade() -> None:
    with op.get_context().autocommit_block():
        op.execute(
            "create index concurrently if not exists contacts_company_created_idx"
            f" on public.contacts {_ORDER}"
        )
        op.execute("drop index concurrently if exists public.contacts_company_created_covering_idx")
