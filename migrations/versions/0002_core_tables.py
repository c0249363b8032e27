"""Core tables of DESIGN.md section 4, their unique keys and the indexes of the hot queries.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TENANT_TABLES = (
    "companies",
    "profiles",
    "evolution_instances",
    "contacts",
    "contact_identities",
    "evolution_conversations",
    "conversation_cycles",
    "evolution_messages",
    "segments",
    "import_jobs",
    "tasks",
    "outbox",
    "audit_log",
)

_TABLES = """
create table public.companies (
  id uuid primary key default gen_random_uuid(),
  name text not null check (length(name) between 1 and 200),
  timezone text not null default 'America/Sao_Paulo',
  default_region text not null default 'BR' check (default_region ~ '^[A-Z]{2}$'),
  settings jsonb not null default '{}'::jsonb,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);

create table public.profiles (
  id uuid primary key references auth.users (id) on delete cascade,
  company_id uuid not null references public.companies (id) on delete cascade,
  role text not null check (role in ('operator', 'supervisor', 'admin')),
  email text not null,
  display_name text not null default '' check (length(display_name) <= 200),
  active boolean not null default true,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);
create index profiles_company_idx on public.profiles (company_id, role);

create table public.evolution_instances (
  id uuid primary key default gen_random_uuid(),
  company_id uuid not null references public.companies (id) on delete cascade,
  external_id text not null check (length(external_id) between 1 and 200),
  server_url text not null,
  api_key_hash text not null check (api_key_hash ~ '^[0-9a-f]{64}$'),
  webhook_url text,
  connection_state text not null default 'close'
    check (connection_state in ('open', 'connecting', 'close', 'refused', 'removed')),
  owner_jid text,
  profile_name text,
  last_event_at timestamptz,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  constraint evolution_instances_server_external_key unique (server_url, external_id)
);
create index evolution_instances_company_idx on public.evolution_instances (company_id);
create index evolution_instances_external_idx on public.evolution_instances (external_id);

create table public.contacts (
  id uuid primary key default gen_random_uuid(),
  company_id uuid not null references public.companies (id) on delete cascade,
  phone_e164 text check (phone_e164 ~ '^\\+[1-9][0-9]{6,14}$'),
  name text not null default '' check (length(name) <= 200),
  email text check (length(email) <= 320),
  source text check (length(source) <= 100),
  funnel_stage text check (length(funnel_stage) <= 100),
  tags text[] not null default '{}',
  custom_fields jsonb not null default '{}'::jsonb,
  notes text not null default '',
  opted_out boolean not null default false,
  last_interaction_at timestamptz,
  merged_into_id uuid references public.contacts (id) on delete set null,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);
create index contacts_company_phone_idx
  on public.contacts (company_id, phone_e164 text_pattern_ops);
create index contacts_name_trgm_idx on public.contacts using gin (lower(name) gin_trgm_ops);
create index contacts_tags_idx on public.contacts using gin (tags);
create index contacts_company_interaction_idx
  on public.contacts (company_id, last_interaction_at desc nulls last, id);

create table public.contact_identities (
  id uuid primary key default gen_random_uuid(),
  company_id uuid not null references public.companies (id) on delete cascade,
  contact_id uuid not null references public.contacts (id) on delete cascade,
  kind text not null check (kind in ('phone', 'jid', 'lid')),
  value text not null check (length(value) between 1 and 200),
  created_at timestamptz not null default now(),
  constraint contact_identities_company_kind_value_key unique (company_id, kind, value)
);
create index contact_identities_contact_idx on public.contact_identities (contact_id);

create table public.evolution_conversations (
  id uuid primary key default gen_random_uuid(),
  company_id uuid not null references public.companies (id) on delete cascade,
  instance_id uuid not null references public.evolution_instances (id) on delete cascade,
  remote_jid text not null,
  is_group boolean not null default false,
  subject text,
  contact_id uuid references public.contacts (id) on delete set null,
  status text not null default 'open' check (status in ('open', 'pending', 'closed')),
  assignee_id uuid references public.profiles (id) on delete set null,
  last_message_preview text,
  last_message_at timestamptz,
  last_message_status text,
  last_message_from_me boolean,
  unread_count integer not null default 0 check (unread_count >= 0),
  chatwoot_conversation_id bigint,
  chatwoot_inbox_id bigint,
  message_context jsonb,
  first_inbound_at timestamptz,
  last_inbound_at timestamptz,
  first_outbound_at timestamptz,
  last_outbound_at timestamptz,
  closed_at timestamptz,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  constraint evolution_conversations_instance_jid_key unique (instance_id, remote_jid)
);
create index evolution_conversations_inbox_idx
  on public.evolution_conversations (company_id, status, last_message_at desc nulls last, id desc);
create index evolution_conversations_assignee_idx
  on public.evolution_conversations
  (company_id, assignee_id, status, last_message_at desc nulls last, id desc);
create index evolution_conversations_contact_idx on public.evolution_conversations (contact_id);

create table public.conversation_cycles (
  id uuid primary key default gen_random_uuid(),
  company_id uuid not null references public.companies (id) on delete cascade,
  conversation_id uuid not null
    references public.evolution_conversations (id) on delete cascade,
  started_at timestamptz not null,
  first_assigned_at timestamptz,
  first_human_reply_at timestamptz,
  closed_at timestamptz,
  closed_by uuid references public.profiles (id) on delete set null,
  created_at timestamptz not null default now()
);
create index conversation_cycles_conversation_idx
  on public.conversation_cycles (conversation_id, started_at desc);
create unique index conversation_cycles_one_open_idx
  on public.conversation_cycles (conversation_id) where closed_at is null;
create index conversation_cycles_company_started_idx
  on public.conversation_cycles (company_id, started_at);

create table public.evolution_messages (
  id uuid primary key default gen_random_uuid(),
  company_id uuid not null references public.companies (id) on delete cascade,
  instance_id uuid not null references public.evolution_instances (id) on delete cascade,
  conversation_id uuid not null
    references public.evolution_conversations (id) on delete cascade,
  key_id text,
  from_me boolean not null,
  remote_jid text not null,
  sender_jid text,
  push_name text,
  type text not null,
  body text,
  message_payload jsonb not null default '{}'::jsonb,
  raw_payload jsonb,
  status text check (status in
    ('queued', 'ERROR', 'PENDING', 'SERVER_ACK', 'DELIVERY_ACK', 'READ', 'PLAYED')),
  message_timestamp timestamptz not null,
  event_datetime timestamptz,
  quoted_key_id text,
  media_mimetype text,
  media_file_name text,
  media_size bigint,
  media_path text,
  edit_history jsonb not null default '[]'::jsonb,
  edited_at timestamptz,
  deleted_at timestamptz,
  sent_by uuid references public.profiles (id) on delete set null,
  client_idempotency_key text check (length(client_idempotency_key) <= 200),
  error_detail text,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  -- The WhatsApp id is unique per instance; NULL until a queued send gets its id.
  constraint evolution_messages_instance_key_key unique (instance_id, key_id)
);
create index evolution_messages_conversation_idx
  on public.evolution_messages (conversation_id, message_timestamp desc, id desc);
create unique index evolution_messages_idempotency_idx
  on public.evolution_messages (company_id, client_idempotency_key)
  where client_idempotency_key is not null;

create table public.segments (
  id uuid primary key default gen_random_uuid(),
  company_id uuid not null references public.companies (id) on delete cascade,
  name text not null check (length(name) between 1 and 200),
  kind text not null default 'dynamic' check (kind in ('dynamic', 'static')),
  filter jsonb not null default '{}'::jsonb,
  created_by uuid references public.profiles (id) on delete set null,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  constraint segments_company_name_key unique (company_id, name)
);

create table public.import_jobs (
  id uuid primary key default gen_random_uuid(),
  company_id uuid not null references public.companies (id) on delete cascade,
  created_by uuid references public.profiles (id) on delete set null,
  status text not null default 'uploaded'
    check (status in ('uploaded', 'queued', 'running', 'completed', 'failed', 'cancelled')),
  file_name text not null,
  file_path text,
  file_size bigint not null default 0,
  mapping jsonb not null default '{}'::jsonb,
  existing_policy text not null default 'skip'
    check (existing_policy in ('skip', 'fill_empty', 'overwrite')),
  total_rows integer not null default 0,
  processed_rows integer not null default 0,
  created_count integer not null default 0,
  updated_count integer not null default 0,
  skipped_count integer not null default 0,
  failed_count integer not null default 0,
  error text,
  started_at timestamptz,
  finished_at timestamptz,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);
create index import_jobs_company_idx on public.import_jobs (company_id, created_at desc);

create table public.tasks (
  id uuid primary key default gen_random_uuid(),
  company_id uuid not null references public.companies (id) on delete cascade,
  title text not null check (length(title) between 1 and 300),
  description text not null default '',
  due_at timestamptz,
  status text not null default 'open' check (status in ('open', 'done')),
  assignee_id uuid references public.profiles (id) on delete set null,
  created_by uuid references public.profiles (id) on delete set null,
  contact_id uuid references public.contacts (id) on delete set null,
  conversation_id uuid references public.evolution_conversations (id) on delete set null,
  completed_at timestamptz,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);
create index tasks_assignee_due_idx on public.tasks (company_id, assignee_id, status, due_at);

create table public.outbox (
  id bigint generated always as identity primary key,
  company_id uuid not null references public.companies (id) on delete cascade,
  stream text not null,
  payload jsonb not null,
  created_at timestamptz not null default now(),
  published_at timestamptz,
  attempts integer not null default 0
);
create index outbox_unpublished_idx on public.outbox (id) where published_at is null;

create table public.audit_log (
  id bigint generated always as identity primary key,
  company_id uuid not null references public.companies (id) on delete cascade,
  actor_id uuid references auth.users (id) on delete set null,
  action text not null,
  target_type text not null,
  target_id text,
  details jsonb not null default '{}'::jsonb,
  created_at timestamptz not null default now()
);
create index audit_log_company_idx on public.audit_log (company_id, created_at desc);

-- Refresh tokens of the local auth provider (Supabase keeps its own in auth.refresh_tokens).
create table app.refresh_tokens (
  id uuid primary key default gen_random_uuid(),
  user_id uuid not null references auth.users (id) on delete cascade,
  session_id uuid not null,
  token_hash text not null unique,
  parent_id uuid references app.refresh_tokens (id) on delete set null,
  created_at timestamptz not null default now(),
  expires_at timestamptz not null,
  used_at timestamptz,
  revoked_at timestamptz
);
create index refresh_tokens_session_idx on app.refresh_tokens (session_id);

create function app.touch_updated_at() returns trigger language plpgsql as $$
begin
  new.updated_at := now();
  return new;
end
$$;
"""

_WITH_UPDATED_AT = (
    "companies",
    "profiles",
    "evolution_instances",
    "contacts",
    "evolution_conversations",
    "evolution_messages",
    "segments",
    "import_jobs",
    "tasks",
)


def upgrade() -> None:
    op.execute(_TABLES)
    for table in _WITH_UPDATED_AT:
        op.execute(
            f"create trigger {table}_touch before update on public.{table} "
            "for each row execute function app.touch_updated_at()"
        )


def downgrade() -> None:
    for table in reversed(TENANT_TABLES):
        op.execute(f"drop table if exists public.{table} cascade")
    op.execute("drop table if exists app.refresh_tokens")
    op.execute("drop function if exists app.touch_updated_at()")
