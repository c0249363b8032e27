"""Private notes can be corrected or removed by their author, or by a supervisor or admin.

0012 made notes write-once (admins could delete). Teams asked to fix a typo or withdraw a
note written in the wrong chat; a team lead tidies up after others. Both rules stay within
what the caller sees (the conversation's own policy, as for reading). Only the text and the
time of the edit may change: author, conversation and company are fixed by column grants.

Revision ID: 0016
Revises: 0015
Create Date: 2026-11-27
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_COMPANY = "company_id = (select app.current_company_id())"
_VISIBLE = "exists (select 1 from public.evolution_conversations c where c.id = conversation_id)"
_AUTHOR_OR_SUPERVISOR = "(author_id = (select auth.uid()) or (select app.is_supervisor()))"

_UPGRADE = f"""
alter table public.conversation_notes add column edited_at timestamptz;

drop policy notes_delete_admin on public.conversation_notes;
create policy notes_delete on public.conversation_notes for delete to authenticated
  using ({_COMPANY} and {_VISIBLE} and {_AUTHOR_OR_SUPERVISOR});
create policy notes_update on public.conversation_notes for update to authenticated
  using ({_COMPANY} and {_VISIBLE} and {_AUTHOR_OR_SUPERVISOR})
  with check ({_COMPANY} and {_VISIBLE});
revoke update on public.conversation_notes from authenticated;
grant update (body, edited_at) on public.conversation_notes to authenticated;
"""

_DOWNGRADE = f"""
revoke update (body, edited_at) on public.conversation_notes from authenticated;
grant update on public.conversation_notes to authenticated;
drop policy notes_update on public.conversation_notes;
drop policy notes_delete on public.conversation_notes;
create policy notes_delete_admin on public.conversation_notes for delete to authenticated
  using ({_COMPANY} and (select app.is_admin()));
alter table public.conversation_notes drop column edited_at;
"""


def upgrade() -> None:
    op.execute(_UPGRADE)


def downgrade() -> None:
    op.execute(_DOWNGRADE)
