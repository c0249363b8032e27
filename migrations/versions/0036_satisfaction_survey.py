"""Customer satisfaction survey: the question a customer is asked when their chat is closed,
and the 1-5 rating they answer with, kept on the service cycle it rates.

`satisfaction_surveys` holds a company's survey (on or off, the question, the thanks sent
after an answer). On `conversation_cycles`: `survey_sent_at` (when the question was queued,
at the close), `rating` (1 to 5), `rated_at` and `rating_message_id` (the customer's answer).
A cycle is rated at most once; the agent credited is the cycle's own `assignee_id`.
Members read the survey; admins change it.

Revision ID: 0036
Revises: 0035
Create Date: 2026-11-28
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0036"
down_revision: str | None = "0035"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_UPGRADE = """
create table public.satisfaction_surveys (
  company_id uuid primary key references public.companies (id) on delete cascade,
  enabled boolean not null default false,
  question text not null check (length(btrim(question)) between 1 and 1000),
  thanks text not null check (length(btrim(thanks)) between 1 and 1000),
  updated_at timestamptz not null default now()
);
create trigger satisfaction_surveys_touch before update on public.satisfaction_surveys
  for each row execute function app.touch_updated_at();

alter table public.conversation_cycles
  add column survey_sent_at timestamptz,
  add column rating smallint check (rating between 1 and 5),
  add column rated_at timestamptz,
  add column rating_message_id uuid,
  add constraint conversation_cycles_rated check ((rating is null) = (rated_at is null));
-- Reports read the surveys of a period by when they were sent (reports/repository.py).
create index conversation_cycles_surveyed_idx
  on public.conversation_cycles (company_id, survey_sent_at) where survey_sent_at is not null;
"""

_COMPANY = "company_id = (select app.current_company_id())"
_ADMIN = f"{_COMPANY} and (select app.is_admin())"
_POLICIES = [
    ("satisfaction_surveys_select_member", "select", _COMPANY, None),
    ("satisfaction_surveys_insert_admin", "insert", None, _ADMIN),
    ("satisfaction_surveys_update_admin", "update", _ADMIN, _ADMIN),
    ("satisfaction_surveys_delete_admin", "delete", _ADMIN, None),
]


def upgrade() -> None:
    op.execute(_UPGRADE)
    op.execute("alter table public.satisfaction_surveys enable row level security")
    for name, command, using, check in _POLICIES:
        sql = f"create policy {name} on public.satisfaction_surveys for {command} to authenticated"
        if using:
            sql += f" using ({using})"
        if check:
            sql += f" with check ({check})"
        op.execute(sql)
    op.execute("revoke all on public.satisfaction_surveys from anon")
    op.execute(
        "grant select, insert, update, delete on public.satisfaction_surveys to authenticated"
    )
    op.execute("grant all on public.satisfaction_surveys to service_role")


def downgrade() -> None:
    op.execute("drop index public.conversation_cycles_surveyed_idx")
    op.execute(
        "alter table public.conversation_cycles drop constraint conversation_cycles_rated,"
        " drop column survey_sent_at, drop column rating, drop column rated_at,"
        " drop column rating_message_id"
    )
    op.execute("drop table public.satisfaction_surveys")
