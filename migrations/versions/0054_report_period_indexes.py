"""Reports find a period's closes and messages through an index, not by reading the history.

Every report reads the cycles the period touches: started, closed or surveyed in it (the
summary, the volume page, the export), or open across it (reply times). Starts and surveys had
an index; closes did not, so each of those statements scanned all of the company's cycles
(200,000 over 180 days: 45-85 ms a read for a 7-day period, bench/reports.py). With
`(company_id, closed_at)` the touched cycles are a union of three index ranges, and the cycles
open across the period are those closed after its start or not closed yet, two ranges of the
same index (btree keeps the nulls, so `closed_at is null` is a range too).

The period's messages (summary and volume counts, reply times) had only the chat's index
`(conversation_id, message_timestamp)`; the company's messages in a period were a scan of all
of them: 842,000 messages, 240-450 ms a read, twice per summary and once per volume page.
`(company_id, message_timestamp)` reads the period's 28,600 rows only. A period as long as the
history still scans both tables (EXPLAIN, 180 of 180 days): the planner's choice. Every
message written pays one more btree entry (a uuid and a timestamp); the reports are what
supervisors open every day, and the messages table only grows.

Both built CONCURRENTLY, outside the revision's transaction (as 0047): a plain build would hold
the webhooks' message and cycle writes for its whole length.

Revision ID: 0054
Revises: 0053
Create Date: 2026-11-29
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0054"
down_revision: str | None = "0053"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_INDEXES = {
    "conversation_cycles_company_closed_idx": "public.conversation_cycles (company_id, closed_at)",
    "evolution_messages_company_time_idx": (
        "public.evolution_messages (company_id, message_timestamp)"
    ),
}


def upgrade() -> None:
    with op.get_context().autocommit_block():
        for name, columns in _INDEXES.items():
            op.execute(f"create index concurrently if not exists {name} on {columns}")


def downgrade() -> None:
    with op.get_context().autocommit_block():
        for name in _INDEXES:
            op.execute(f"drop index concurrently if exists public.{name}")
