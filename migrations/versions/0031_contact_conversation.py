"""`app.contact_conversation_id`: a contact's chat on an instance, whoever it is assigned to.

Writing to a contact from the panel or `POST /api/messages` looked for the chat by the JID
built from the contact's canonical phone only. A contact whose chat came in under another of
their keys (the 12-digit form older Brazilian accounts use, or an `@lid`) got a second chat;
and under RLS an operator could not see a colleague's chat to be told it exists. The function
answers, for the caller's own company only, the contact's latest 1:1 chat on the instance, so
the service opens it (or says it is a colleague's).

Revision ID: 0031
Revises: 0030
Create Date: 2026-11-28
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0031"
down_revision: str | None = "0030"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute(
        """
create function app.contact_conversation_id(instance uuid, contact uuid) returns uuid
language sql stable security definer set search_path = '' as $$
  select c.id from public.evolution_conversations c
  where c.company_id = app.current_company_id() and c.instance_id = instance
    and c.contact_id = contact and not c.is_group
  order by c.last_message_at desc nulls last, c.created_at desc
  limit 1
$$;
revoke all on function app.contact_conversation_id(uuid, uuid) from public;
grant execute on function app.contact_conversation_id(uuid, uuid) to authenticated;
"""
    )


def downgrade() -> None:
    op.execute("drop function app.contact_conversation_id(uuid, uuid)")
