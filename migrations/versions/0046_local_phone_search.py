"""The search box finds a Brazilian number typed without its DDD with one index range.

"98765" may be the start of a number under any of the 67 area codes. The search asked the
phone btree 67 times (one prefix range per DDD): at 200,000 contacts that cost ~9 ms of
planning and ~20 ms of building the statement, against ~2 ms of reading. A btree on the number
after `+55` and the DDD (`substr(phone_e164, 6)`, the subscriber's number) answers it with one
range (contacts/query/search.py); like 0041 it costs writes one small entry per contact.

Built CONCURRENTLY, outside the revision's transaction (as 0041 and 0044): a plain build would
hold the webhooks' contact writes for its whole length.

Revision ID: 0046
Revises: 0045
Create Date: 2026-11-29
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0046"
down_revision: str | None = "0045"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The expression must stay the one search.py's `_after_area_code()` compiles to, constants
# included, or the planner will not match the index.
_COLUMNS = "(company_id, substr(phone_e164, 6) text_pattern_ops)"


def upgrade() -> None:
    with op.get_context().autocommit_block():
        op.execute(
            "create index concurrently if not exists contacts_local_phone_idx"
            f" on public.contacts {_COLUMNS}"
        )


def downgrade() -> None:
    with op.get_context().autocommit_block():
        op.execute("drop index concurrently if exists public.contacts_local_phone_idx")
