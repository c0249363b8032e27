"""Full-text search over message texts: "the chat where the customer sent order 4821".

A Portuguese configuration that also drops accents (`app.message_search`: `unaccent`, then the
Portuguese stemmer), so "cafe" finds "café" and "pedidos" finds "pedido", and a GIN index on the
text plus the media caption through an immutable wrapper, which the search query repeats
exactly (messaging/repository/inbox.py). Numbers stay whole words ("#4821" is "4821").

Under RLS Postgres evaluates only LEAKPROOF operators inside index scans, and `@@` is not one
(migration 0010 met the same with contacts): through the table's policies every search read all
of the company's messages one by one (2.7 s for a word on 200,000 messages in
bench/message_search.py). The search reads `app.searchable_messages` instead: a view owned by
the table owner that applies the same rule as the messages policy (the caller's company, and
a conversation the caller may see: supervisors and admins all, operators theirs and the
unassigned ones) from the same JWT claims, without a security barrier, so the planner can use
the index. It lives in `app`, which PostgREST does not expose: only the backend's SQL reads it.

The index is built CONCURRENTLY, outside the revision's transaction: evolution_messages is the
busiest table, and a plain CREATE INDEX would hold webhooks' inserts for the whole build.

Revision ID: 0029
Revises: 0028
Create Date: 2026-11-28
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0029"
down_revision: str | None = "0028"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_CONFIGURATION = """
do $$
declare
  dictionary text;
begin
  -- Supabase installs extensions in the `extensions` schema, a plain Postgres in `public`.
  select format('%I.%I', n.nspname, d.dictname) into strict dictionary
    from pg_ts_dict d join pg_namespace n on n.oid = d.dictnamespace
    where d.dictname = 'unaccent';
  create text search configuration app.message_search (copy = pg_catalog.portuguese);
  execute format(
    'alter text search configuration app.message_search'
    ' alter mapping for hword, hword_part, word with %s, portuguese_stem',
    dictionary
  );
end
$$;

create function app.message_search_vector(body text, caption text) returns tsvector
language sql immutable parallel safe set search_path = pg_catalog as $$
  select to_tsvector('app.message_search', coalesce(body, '') || ' ' || coalesce(caption, ''))
$$;
grant execute on function app.message_search_vector(text, text) to authenticated, service_role;

-- The rule of messages_select and conversations_select (migration 0003), spelled out: the
-- view runs as its owner, whom RLS does not restrict.
create view app.searchable_messages as
  select m.id, m.company_id, m.instance_id, m.conversation_id, m.from_me, m.push_name, m.type,
    m.body, m.message_payload, m.message_timestamp, m.deleted_at
  from public.evolution_messages m
  where m.company_id = (select app.current_company_id())
    and exists (
      select 1 from public.evolution_conversations c
      where c.id = m.conversation_id and c.company_id = m.company_id
        and ((select app.is_supervisor()) or c.assignee_id is null
             or c.assignee_id = (select auth.uid())));
grant select on app.searchable_messages to authenticated;
"""

_INDEX = """
create index concurrently if not exists evolution_messages_search_idx
  on public.evolution_messages
  using gin (app.message_search_vector(body, message_payload ->> 'caption'))
"""


def upgrade() -> None:
    op.execute(_CONFIGURATION)
    # Commit what came before: CREATE INDEX CONCURRENTLY cannot run inside a transaction.
    with op.get_context().autocommit_block():
        op.execute(_INDEX)


def downgrade() -> None:
    with op.get_context().autocommit_block():
        op.execute("drop index concurrently if exists public.evolution_messages_search_idx")
    op.execute("drop view app.searchable_messages")
    op.execute("drop function app.message_search_vector(text, text)")
    op.execute("drop text search configuration app.message_search")
