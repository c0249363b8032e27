"""Every reference between two tables of a company is a `(company_id, ...)` pair, as 0024 did
for contacts: a chat of A on B's number, a message of A in B's chat, a task of A on B's chat
or for B's user, a member of A in B's list, a campaign of A on B's number... are refused by
Postgres itself, for the service role as well as for users writing through PostgREST (RLS
checks a row's own company; a foreign key alone would accept any company's id).

A table whose reference cannot be null no longer needs its own `company_id -> companies` key:
the referenced row proves the company exists (one check fewer per message and per chat).

Left as it was: `campaign_recipients.message_id`, whose write policy already checks the
message, so the busiest table (`evolution_messages`) does not carry a second unique index.

Revision ID: 0025
Revises: 0024
Create Date: 2026-11-28
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0025"
down_revision: str | None = "0024"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_PARENTS = ("profiles", "evolution_instances", "evolution_conversations", "segments", "campaigns")

# (table, column, referenced table, cascade on delete (else set the column null))
_REFERENCES = (
    ("business_hours", "updated_by", "profiles", False),
    ("campaign_recipients", "campaign_id", "campaigns", True),
    ("campaigns", "created_by", "profiles", False),
    ("campaigns", "instance_id", "evolution_instances", True),
    ("conversation_cycles", "assignee_id", "profiles", False),
    ("conversation_cycles", "conversation_id", "evolution_conversations", True),
    ("conversation_cycles", "closed_by", "profiles", False),
    ("conversation_notes", "conversation_id", "evolution_conversations", True),
    ("conversation_notes", "author_id", "profiles", False),
    ("evolution_conversations", "instance_id", "evolution_instances", True),
    ("evolution_conversations", "assignee_id", "profiles", False),
    ("evolution_messages", "sent_by", "profiles", False),
    ("evolution_messages", "instance_id", "evolution_instances", True),
    ("evolution_messages", "conversation_id", "evolution_conversations", True),
    ("evolution_pending_updates", "instance_id", "evolution_instances", True),
    ("import_jobs", "created_by", "profiles", False),
    ("list_rules", "created_by", "profiles", False),
    ("quick_replies", "created_by", "profiles", False),
    ("segment_members", "segment_id", "segments", True),
    ("segments", "created_by", "profiles", False),
    ("tasks", "assignee_id", "profiles", False),
    ("tasks", "conversation_id", "evolution_conversations", False),
    ("tasks", "created_by", "profiles", False),
    ("user_invites", "invited_by", "profiles", False),
    ("user_invites", "user_id", "profiles", False),
)

# Tables with a non-null reference above still holding their own key to companies.
_REDUNDANT_COMPANY_KEYS = (
    "campaigns",
    "conversation_cycles",
    "conversation_notes",
    "evolution_conversations",
    "evolution_messages",
    "evolution_pending_updates",
)


def _on_delete(column: str, cascade: bool) -> str:
    # Postgres 15's column list: a deleted user clears the column, not the row's company.
    return "cascade" if cascade else f"set null ({column})"


def upgrade() -> None:
    statements = [
        f"alter table public.{parent} add constraint {parent}_company_id_id_key"
        " unique (company_id, id)"
        for parent in _PARENTS
    ]
    for table, column, parent, cascade in _REFERENCES:
        statements.append(
            f"alter table public.{table} drop constraint {table}_{column}_fkey,"
            f" add constraint {table}_{column}_fkey foreign key (company_id, {column})"
            f" references public.{parent} (company_id, id) on delete {_on_delete(column, cascade)}"
            " not valid"  # validated by 0028, without blocking writes (see 0024)
        )
    statements += [
        f"alter table public.{table} drop constraint {table}_company_id_fkey"
        for table in _REDUNDANT_COMPANY_KEYS
    ]
    op.execute(";\n".join(statements))


def downgrade() -> None:
    statements = [
        f"alter table public.{table} add constraint {table}_company_id_fkey foreign key"
        " (company_id) references public.companies (id) on delete cascade"
        for table in _REDUNDANT_COMPANY_KEYS
    ]
    for table, column, parent, cascade in _REFERENCES:
        statements.append(
            f"alter table public.{table} drop constraint {table}_{column}_fkey,"
            f" add constraint {table}_{column}_fkey foreign key ({column})"
            f" references public.{parent} (id) on delete {'cascade' if cascade else 'set null'}"
        )
    statements += [
        f"alter table public.{parent} drop constraint {parent}_company_id_id_key"
        for parent in _PARENTS
    ]
    op.execute(";\n".join(statements))
