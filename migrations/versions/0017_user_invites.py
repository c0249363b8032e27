"""Invitations: an admin invites a colleague by e-mail; the link's token is stored hashed.

The invited login exists from the start (inactive, with a random password nobody knows) so the
users page lists it and its e-mail is taken; accepting sets the password and activates it.
Only the SHA-256 of the token is kept, so a database leak reveals no usable link. The table is
the service role's alone, like the logins it manages (`auth.users`): an admin's invites go
through service transactions scoped explicitly to the admin's company, and the invitee is
anonymous until the token is accepted.

Revision ID: 0017
Revises: 0016
Create Date: 2026-11-27
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_UPGRADE = """
create table public.user_invites (
  id uuid primary key default gen_random_uuid(),
  company_id uuid not null references public.companies (id) on delete cascade,
  -- The invited login; null once a revoked invite's login was removed.
  user_id uuid references public.profiles (id) on delete set null,
  email text not null check (length(email) between 3 and 255),
  display_name text not null default '' check (length(display_name) <= 200),
  role text not null check (role in ('operator', 'supervisor', 'admin')),
  token_hash text not null check (token_hash ~ '^[0-9a-f]{64}$'),
  invited_by uuid references public.profiles (id) on delete set null,
  created_at timestamptz not null default now(),
  sent_at timestamptz not null default now(),
  expires_at timestamptz not null,
  accepted_at timestamptz,
  revoked_at timestamptz
);
create unique index user_invites_token_hash_key on public.user_invites (token_hash);
create index user_invites_company_idx on public.user_invites (company_id, created_at desc);
-- One open invite per login: a resend replaces the token of the same row.
create unique index user_invites_open_user_key on public.user_invites (user_id)
  where accepted_at is null and revoked_at is null;

alter table public.user_invites enable row level security;
revoke all on public.user_invites from anon, authenticated;
grant all on public.user_invites to service_role;
"""


def upgrade() -> None:
    op.execute(_UPGRADE)


def downgrade() -> None:
    op.execute("drop table public.user_invites")
