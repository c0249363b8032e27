"""Campaigns: one text (with variants) sent to a list of contacts at a pace that keeps the
WhatsApp number safe (crm-features.md "Campaigns").

`campaigns` holds the text, the audience (a contact query: search, filter, segment), the pacing
settings and the dispatcher's state (`next_send_at`, `sent_in_batch`); `campaign_recipients`
is the audience as it was when the campaign started, one row per person, with the message sent
to them. A recipient's delivery status is its message's status: never copied, so it cannot
drift from what the webhooks report.

Revision ID: 0021
Revises: 0020
Create Date: 2026-11-28
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0021"
down_revision: str | None = "0020"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TABLES = """
create table public.campaigns (
  id uuid primary key default gen_random_uuid(),
  company_id uuid not null references public.companies (id) on delete cascade,
  instance_id uuid not null references public.evolution_instances (id) on delete cascade,
  name text not null check (length(name) between 1 and 200),
  status text not null default 'draft'
    check (status in ('draft', 'running', 'paused', 'completed', 'cancelled')),
  audience jsonb not null default '{}'::jsonb,
  variants text[] not null
    check (cardinality(variants) between 1 and 10),
  min_gap_seconds integer not null default 8 check (min_gap_seconds >= 1),
  max_gap_seconds integer not null default 20 check (max_gap_seconds >= min_gap_seconds),
  batch_size integer not null default 20 check (batch_size between 1 and 1000),
  batch_pause_min_seconds integer not null default 60 check (batch_pause_min_seconds >= 0),
  batch_pause_max_seconds integer not null default 120
    check (batch_pause_max_seconds >= batch_pause_min_seconds),
  hourly_cap integer not null default 70 check (hourly_cap between 1 and 10000),
  daily_cap integer not null default 300 check (daily_cap between 1 and 100000),
  warmup boolean not null default true,
  window_start time not null default '08:00',
  window_end time not null default '20:00' check (window_end > window_start),
  -- ISO days of the week it may send on (1 = Monday ... 7 = Sunday); Monday to Saturday unless
  -- chosen otherwise: a promotion on a Sunday reads as an intrusion.
  weekdays smallint[] not null default '{1,2,3,4,5,6}'
    check (cardinality(weekdays) between 1 and 7 and weekdays <@ '{1,2,3,4,5,6,7}'),
  max_consecutive_failures integer not null default 5 check (max_consecutive_failures >= 1),
  next_send_at timestamptz,
  sent_in_batch integer not null default 0,
  pause_reason text,
  created_by uuid references public.profiles (id) on delete set null,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  started_at timestamptz,
  -- Failures before the last start or resume do not count towards an automatic pause again.
  resumed_at timestamptz,
  finished_at timestamptz
);
create index campaigns_company_idx on public.campaigns (company_id, created_at desc, id desc);
-- The dispatcher's question, asked every second: which running campaign is due?
create index campaigns_due_idx on public.campaigns (next_send_at) where status = 'running';
create trigger campaigns_touch before update on public.campaigns
  for each row execute function app.touch_updated_at();

create table public.campaign_recipients (
  id uuid primary key default gen_random_uuid(),
  company_id uuid not null references public.companies (id) on delete cascade,
  campaign_id uuid not null references public.campaigns (id) on delete cascade,
  contact_id uuid not null references public.contacts (id) on delete cascade,
  position integer not null,
  status text not null default 'pending' check (status in ('pending', 'sent', 'skipped')),
  reason text,
  variant smallint,
  message_id uuid references public.evolution_messages (id) on delete set null,
  dispatched_at timestamptz,
  unique (campaign_id, contact_id)
);
-- The recipients list, page by page in audience order (50,000 people: 3 ms a page, not 70).
create index campaign_recipients_position_idx
  on public.campaign_recipients (campaign_id, position);
create index campaign_recipients_pending_idx
  on public.campaign_recipients (campaign_id, position) where status = 'pending';
create index campaign_recipients_dispatched_idx
  on public.campaign_recipients (campaign_id, dispatched_at desc) where dispatched_at is not null;
-- "Was this person ever sent a campaign?" (a stop word answered), and contact deletion.
create index campaign_recipients_contact_idx on public.campaign_recipients (contact_id);
create index campaign_recipients_message_idx
  on public.campaign_recipients (message_id) where message_id is not null;
"""

_COMPANY = "company_id = (select app.current_company_id())"
_SUPERVISOR = "(select app.is_supervisor())"
_MANAGE = f"{_COMPANY} and {_SUPERVISOR}"
# Foreign keys are checked without RLS, so a row written through the API of Supabase (PostgREST)
# could name another company's number, campaign or contact, and the dispatcher, which runs as
# the service role, would then send to that company's customer. These subqueries run under the
# writer's own policies: only rows the writer can see may be named.
_OWN_INSTANCE = "exists (select 1 from public.evolution_instances i where i.id = instance_id)"
_OWN_PARENTS = (
    "exists (select 1 from public.campaigns k where k.id = campaign_id)"
    " and exists (select 1 from public.contacts c where c.id = contact_id)"
)

# table -> list of (policy name, command, USING, WITH CHECK)
# A campaign speaks to many customers in the company's name: supervisors and admins plan and
# run them (as for quick replies and list rules); operators see their replies in the inbox.
_POLICIES: dict[str, list[tuple[str, str, str | None, str | None]]] = {
    "campaigns": [
        ("campaigns_select_supervisor", "select", _MANAGE, None),
        ("campaigns_insert_supervisor", "insert", None, f"{_MANAGE} and {_OWN_INSTANCE}"),
        ("campaigns_update_supervisor", "update", _MANAGE, f"{_MANAGE} and {_OWN_INSTANCE}"),
        ("campaigns_delete_supervisor", "delete", _MANAGE, None),
    ],
    "campaign_recipients": [
        ("campaign_recipients_select_supervisor", "select", _MANAGE, None),
        (
            "campaign_recipients_insert_supervisor",
            "insert",
            None,
            f"{_MANAGE} and {_OWN_PARENTS}",
        ),
        (
            "campaign_recipients_update_supervisor",
            "update",
            _MANAGE,
            f"{_MANAGE} and {_OWN_PARENTS}",
        ),
        ("campaign_recipients_delete_supervisor", "delete", _MANAGE, None),
    ],
}


def upgrade() -> None:
    op.execute(_TABLES)
    for table, policies in _POLICIES.items():
        op.execute(f"alter table public.{table} enable row level security")
        for name, command, using, check in policies:
            sql = f"create policy {name} on public.{table} for {command} to authenticated"
            if using:
                sql += f" using ({using})"
            if check:
                sql += f" with check ({check})"
            op.execute(sql)
        op.execute(f"revoke all on public.{table} from anon")
        op.execute(f"grant select, insert, update, delete on public.{table} to authenticated")
        op.execute(f"grant all on public.{table} to service_role")


def downgrade() -> None:
    op.execute("drop table public.campaign_recipients")
    op.execute("drop table public.campaigns")
