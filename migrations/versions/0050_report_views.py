"""Reports read a supervisor's company through views, not row by row under RLS.

Reports are for supervisors and admins, who may see every chat of their company. Under RLS each
cycle and message row still ran its policy's check of its conversation (about 520,000 lookups
for a summary of 100,000 cycles, bench/reports.py), and the policies' estimates (half the chats
visible, one cycle per chat) led the planner into nested loops: 12-19 s for the summary.

`app.report_cycles`, `app.report_messages` and `app.report_conversations` are those tables'
rows of the caller's company when the caller is a supervisor or an admin, and nothing
otherwise: the policies' answer for those roles, given once per statement (initplans, as
`app.company_contacts` of 0010 does for contacts). Owned by the tables' owner, so no policy
runs per row; in schema `app`, which PostgREST does not expose; read only by the reports'
repository.

Revision ID: 0050
Revises: 0049
Create Date: 2026-11-29
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0050"
down_revision: str | None = "0049"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

VIEWS = {
    "report_cycles": "conversation_cycles",
    "report_messages": "evolution_messages",
    "report_conversations": "evolution_conversations",
}
_RULE = "company_id = (select app.current_company_id()) and (select app.is_supervisor())"


def upgrade() -> None:
    for view, table in VIEWS.items():
        op.execute(
            f"create view app.{view} as select * from public.{table} where {_RULE};"
            f" grant select on app.{view} to authenticated;"
        )


def downgrade() -> None:
    for view in VIEWS:
        op.execute(f"drop view app.{view};")
