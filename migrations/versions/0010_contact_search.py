"""Contact search that can use its indexes under tenancy: a stored search name and a tenant view.

Under RLS Postgres only evaluates LEAKPROOF operators inside index scans; LIKE, pg_trgm,
array containment, lower() and unaccent() are not, so name, tag and e-mail searches read the
company's rows one by one (measured in bench/search.py: a rare name took ~10 s on 1M
contacts). `app.company_contacts` applies the same tenant rule as the contacts policy (every
role of a company sees all its contacts) from the same JWT claims, without a security barrier,
so the planner can use every index. It lives in `app`, which PostgREST does not expose: only the
backend's whitelisted SQL reads it; writes still go to the table under RLS.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-27
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute(
        """
alter table public.contacts
  add column search_name text generated always as (app.search_text(name)) stored;
drop index public.contacts_name_search_idx;
create index contacts_name_search_idx on public.contacts using gin (search_name gin_trgm_ops);
create view app.company_contacts as
  select * from public.contacts where company_id = (select app.current_company_id());
grant select on app.company_contacts to authenticated;
"""
    )


def downgrade() -> None:
    op.execute(
        """
drop view app.company_contacts;
drop index public.contacts_name_search_idx;
alter table public.contacts drop column search_name;
create index contacts_name_search_idx
  on public.contacts using gin (app.search_text(name) gin_trgm_ops);
"""
    )
