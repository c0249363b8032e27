"""Tags compare case-insensitively everywhere: "vip" finds the contacts tagged "VIP".

A contact keeps one spelling of each tag (the contact form and bulk tagging already compare
them case-insensitively), but across contacts a team ends up with "VIP" on some and "vip" on
others, and an exact filter showed only half of them. Filters (and the bulk removal of a tag)
now compare `folded_tags`, the tags in lower case, which a GIN index answers; `tags` keeps the
spelling people typed.

`folded_tags` is a stored generated column, as `search_name` is (0010), rather than an index
on the expression: a filter that the planner answers by walking another index (newest first,
with a stage and a date) checks the tags of every row it passes, and calling the function on
each (a SQL function with a FROM is never inlined) cost more than the rest of the query
(bench/search.py, "tag vip + stage + last 30 days": p50 43 ms on 300,000 contacts with the
expression, against a plain column read). Adding the column rewrites the table once, holding
contact writes meanwhile (webhooks wait; they do not fail). The index on the raw array goes:
nothing reads it any more. `app.company_contacts` selects `*` as the table was: replaced so
that reads see the column.

Revision ID: 0040
Revises: 0039
Create Date: 2026-11-28
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0040"
down_revision: str | None = "0039"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TENANT_VIEW = """
create or replace view app.company_contacts as
  select * from public.contacts where company_id = (select app.current_company_id());
"""


def upgrade() -> None:
    op.execute(
        """
-- Names spelled out instead of a `set search_path` clause: a function with one pays a
-- configuration change on every call, and imports call this one for each row they write.
create function app.folded_tags(tags text[]) returns text[]
language sql immutable parallel safe as $$
  select coalesce(pg_catalog.array_agg(pg_catalog.lower(tag)), '{}'::text[])
  from pg_catalog.unnest(tags) as tag
$$;
grant execute on function app.folded_tags(text[]) to authenticated, service_role;
alter table public.contacts
  add column folded_tags text[] generated always as (app.folded_tags(tags)) stored;
create index contacts_folded_tags_idx on public.contacts using gin (folded_tags);
drop index public.contacts_tags_idx;
"""
        + _TENANT_VIEW
    )


def downgrade() -> None:
    op.execute(
        """
drop view app.company_contacts;
create index contacts_tags_idx on public.contacts using gin (tags);
alter table public.contacts drop column folded_tags;
drop function app.folded_tags(text[]);
"""
        + _TENANT_VIEW
        + "grant select on app.company_contacts to authenticated;"
    )
