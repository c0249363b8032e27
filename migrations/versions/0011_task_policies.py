"""Task policies: a task about a chat you cannot see stays hidden unless it is yours.

0003 let every operator read any unassigned task, so a team to-do about a colleague's private
conversation showed its text (and the conversation's id) to everyone. Now an unassigned task is
visible only when its conversation is (the subquery runs under the conversation's own policy,
so the operator rule lives in one place); tasks assigned to or created by the caller stay
visible even if the chat later moved to someone else. Inserts must name the caller as creator
and link only to a contact, a profile and a conversation the caller can see; updates may only
link to the company's own contacts and profiles.

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-27
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_COMPANY = "company_id = (select app.current_company_id())"
_SUPERVISOR = "(select app.is_supervisor())"
_ME = "(select auth.uid())"
_CONVERSATION_VISIBLE = (
    "(tasks.conversation_id is null or exists (select 1 from public.evolution_conversations c"
    " where c.id = tasks.conversation_id))"
)
_VISIBLE = (
    f"({_SUPERVISOR} or tasks.assignee_id = {_ME} or tasks.created_by = {_ME}"
    f" or (tasks.assignee_id is null and {_CONVERSATION_VISIBLE}))"
)
# Contacts and profiles are visible company-wide, so these only refuse another company's rows.
_LINKS_IN_COMPANY = (
    "(tasks.contact_id is null or exists (select 1 from public.contacts ct"
    " where ct.id = tasks.contact_id))"
    " and (tasks.assignee_id is null or exists (select 1 from public.profiles p"
    " where p.id = tasks.assignee_id))"
)

_NEW = {
    "tasks_select": f"for select to authenticated using ({_COMPANY} and {_VISIBLE})",
    "tasks_insert": (
        f"for insert to authenticated with check ({_COMPANY} and tasks.created_by = {_ME}"
        f" and {_LINKS_IN_COMPANY} and {_CONVERSATION_VISIBLE})"
    ),
    "tasks_update": (
        f"for update to authenticated using ({_COMPANY} and {_VISIBLE})"
        f" with check ({_COMPANY} and {_LINKS_IN_COMPANY})"
    ),
}

_OLD_VISIBLE = (
    f"({_SUPERVISOR} or assignee_id is null or assignee_id = {_ME} or created_by = {_ME})"
)
_OLD = {
    "tasks_select": f"for select to authenticated using ({_COMPANY} and {_OLD_VISIBLE})",
    "tasks_insert": f"for insert to authenticated with check ({_COMPANY})",
    "tasks_update": (
        f"for update to authenticated using ({_COMPANY} and {_OLD_VISIBLE}) with check ({_COMPANY})"
    ),
}


def _replace(policies: dict[str, str]) -> None:
    for name, body in policies.items():
        op.execute(f"drop policy {name} on public.tasks")
        op.execute(f"create policy {name} on public.tasks {body}")


def upgrade() -> None:
    _replace(_NEW)


def downgrade() -> None:
    _replace(_OLD)
