"""The inbox search reads only the chats it may find: a group's subject and a number's digits
are looked up in trigram indexes instead of being checked on every open chat.

A search that found nothing still read the company's 80,000 open chats (bench/panel.py): the
group subject (`app.search_text(subject)`, a function call per row) and the JID (`remote_jid
like '%digits%'`) had no index, and the contact's phone was read contact by contact. Under RLS
neither could use one anyway (LIKE and pg_trgm are not LEAKPROOF: contacts/query/source.py), so
the candidates come from `app.company_conversations`, a view of the caller's company's chats
that, like `app.company_contacts` (0010), applies only the tenant rule and lets the planner use
every index; the rows listed are still read from the table, under the conversations' policy.
The view shows only what a search compares, not the chats' content.

Write cost: the subject index holds only groups (partial); the JID index has an entry per
trigram of every chat's JID, written again on each non-HOT update (every message moves
`last_message_at`, which the inbox btrees hold, so those updates were never HOT); the phone
index one per trigram of each contact's number. README's bench/panel.py row gives the figures.

Built CONCURRENTLY, outside the revision's transaction (as 0041, 0044 and 0046): a plain build
would hold the webhooks' writes for its whole length.

Revision ID: 0049
Revises: 0048
Create Date: 2026-11-29
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0049"
down_revision: str | None = "0048"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The expressions must stay those messaging/repository/inbox.py compares, or the planner will
# not match the indexes.
_INDEXES = {
    "evolution_conversations_subject_search_idx": (
        "public.evolution_conversations using gin (app.search_text(subject) gin_trgm_ops)"
        " where subject is not null"
    ),
    "evolution_conversations_jid_search_idx": (
        "public.evolution_conversations using gin (remote_jid gin_trgm_ops)"
    ),
    "contacts_phone_search_idx": "public.contacts using gin (phone_e164 gin_trgm_ops)",
}

_VIEW = """
create view app.company_conversations as
  select c.id, c.company_id, c.contact_id, c.subject, c.remote_jid
  from public.evolution_conversations c
  where c.company_id = (select app.current_company_id());
grant select on app.company_conversations to authenticated;
"""


def upgrade() -> None:
    op.execute(_VIEW)
    with op.get_context().autocommit_block():
        for name, definition in _INDEXES.items():
            op.execute(f"create index concurrently if not exists {name} on {definition}")


def downgrade() -> None:
    with op.get_context().autocommit_block():
        for name in _INDEXES:
            op.execute(f"drop index concurrently if exists public.{name}")
    op.execute("drop view app.company_conversations")
