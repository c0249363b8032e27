"""The e-mail btrees hold only contacts that have an address.

Most contacts of a WhatsApp business come with a phone and no e-mail, yet each of the three
e-mail btrees (the address, 0006; its reverse, 0041; its domain, 0044) got an entry for every
contact, all for NULL. Every search that reads them compares the address with a strict operator
(LIKE, a range, `=`), which Postgres knows a NULL never passes, so it proves `email is not
null` from the query and still picks these partial indexes. In bench/import.py (40% of rows with
an address) the three indexes cost ~10 of ~90 s of Postgres's CPU for 1,000,000 contacts;
partial, they cost that only for the rows with an address. Webhook writes of new contacts
(a WhatsApp peer has no e-mail) skip them altogether.

The planner reads the statistics of an index's expressions only from a full index (a partial
one's cover only its rows): without them it guessed 10x more matches for an address prefix and
walked the newest contacts for a one-word search that finds nobody ("gabirel" at 1,000,000
contacts: 0.9 s instead of 0.1 s, bench/search.py). A statistics object on the three
expressions gives them back.

Each is rebuilt CONCURRENTLY (as 0041) under a new name, the old one dropped, and the new one
renamed to the old name, which the code and its plan tests use: a plain build would hold the
webhooks' contact writes for its whole length. Every step is idempotent, so a run interrupted
between them finishes when run again.

Revision ID: 0059
Revises: 0058
Create Date: 2026-11-30
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0059"
down_revision: str | None = "0058"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The expressions must stay the ones contacts/query/search.py compiles to, constants included,
# or the planner will not match the indexes.
_INDEXES = {
    "contacts_company_email_idx": "(company_id, lower(email))",
    "contacts_email_suffix_idx": "(company_id, reverse(lower(email)) text_pattern_ops)",
    "contacts_email_domain_idx": "(company_id, split_part(lower(email), '@', 2) text_pattern_ops)",
}
_WITH_ADDRESS = "where email is not null"
_STATISTICS = "public.contacts_email_stats"
# The three indexes' expressions, for the statistics the planner no longer takes from them.
_EXPRESSIONS = "lower(email), reverse(lower(email)), split_part(lower(email), '@', 2)"

_RENAME = """
do $$
begin
  if to_regclass('public.{new}') is not null and to_regclass('public.{name}') is null then
    alter index public.{new} rename to {name};
  end if;
end
$$
"""


def _rebuild(partial: bool) -> None:
    with op.get_context().autocommit_block():
        for name, columns in _INDEXES.items():
            new = f"{name.removesuffix('_idx')}_next_idx"
            where = _WITH_ADDRESS if partial else ""
            op.execute(
                f"create index concurrently if not exists {new} on public.contacts {columns}"
                f" {where}"
            )
            op.execute(f"drop index concurrently if exists public.{name}")
            op.execute(_RENAME.format(new=new, name=name))


def upgrade() -> None:
    op.execute(
        f"create statistics if not exists {_STATISTICS} (ndistinct)"
        f" on {_EXPRESSIONS} from public.contacts"
    )
    _rebuild(partial=True)
    op.execute("analyze public.contacts")


def downgrade() -> None:
    _rebuild(partial=False)
    op.execute(f"drop statistics if exists {_STATISTICS}")
