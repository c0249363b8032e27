"""The search box finds an address by its domain's name alone: "gmail" lists everyone at gmail.*.

People type the provider or the company ("gmail", "@empresa") rather than the whole domain
("gmail.com", "empresa.com.br"). That is the start of the part after the `@`, which neither the
`(company_id, lower(email))` btree (the start of the address) nor the reversed one of 0041 (its
end) can answer. A btree on the domain turns it into one prefix range (contacts/query/search.py)
instead of reading every contact of the company; like 0041, it costs the import and webhook
writes one small entry per contact, where a trigram index on the address would write dozens.

Built CONCURRENTLY, outside the revision's transaction (as 0041): a plain build would hold the
webhooks' contact writes for its whole length.

Revision ID: 0044
Revises: 0043
Create Date: 2026-11-30
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0044"
down_revision: str | None = "0043"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The expression must stay the one search.py's `_email_domain()` compiles to, constants
# included, or the planner will not match the index.
_COLUMNS = "(company_id, split_part(lower(email), '@', 2) text_pattern_ops)"


def upgrade() -> None:
    with op.get_context().autocommit_block():
        op.execute(
            "create index concurrently if not exists contacts_email_domain_idx"
            f" on public.contacts {_COLUMNS}"
        )


def downgrade() -> None:
    with op.get_context().autocommit_block():
        op.execute("drop index concurrently if exists public.contacts_email_domain_idx")
