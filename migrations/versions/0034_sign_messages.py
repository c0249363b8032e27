"""`companies.sign_messages`: agents' texts reach the customer signed with their name.

Customers of a shared WhatsApp number cannot tell who is answering; the Whaticket family's
"assinar mensagens" puts the agent's name in bold above each text. The panel keeps showing
what the agent typed; only the text sent to WhatsApp carries the signature.

Revision ID: 0034
Revises: 0033
Create Date: 2026-11-28
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0034"
down_revision: str | None = "0033"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute(
        "alter table public.companies add column sign_messages boolean not null default false"
    )


def downgrade() -> None:
    op.execute("alter table public.companies drop column sign_messages")
