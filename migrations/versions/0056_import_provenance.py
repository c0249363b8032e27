"""A contact an import job created says so itself: `contacts.import_job_id` and `import_row`.

Every contact a CSV import created got an `import.created` row in `contact_events`, and with
it three index entries (one in the partial expression index `contact_events_import_job_idx`,
0013): about 15% of Postgres's CPU of the 1,000,000-row import (bench/import.py, 84.7/82.2 s
with the events, 76.3/70.5 s without). The job and the file's row now go on the contact the
import inserts anyway: two more values in a row being written, no index (nothing looks
contacts up by job: the readers below already hold the contact, or scan one job's contacts once
at its end) and no foreign key (its check would be a lookup per row; import jobs are never
deleted but with their company, which takes its contacts too).

What read the events reads the columns as well: the contact's timeline shows the same
"import.created" entry (contacts/repository/crud.py), a retried chunk still counts the rows it
created (contacts/importing/staging.py), a list rule still takes the contacts a job created
(contacts/rules/repository.py), and a merge writes the entry as an event on the kept contact.
Contacts imported before keep their events (no backfill: both are read). The bulk API import
(no job) still writes its events: at most 1,000 per request.

`app.company_contacts` selects `*` as the table was: replaced so that reads see the columns.

Revision ID: 0056
Revises: 0055
Create Date: 2026-11-30
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0056"
down_revision: str | None = "0055"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TENANT_VIEW = """
create or replace view app.company_contacts as
  select * from public.contacts where company_id = (select app.current_company_id());
"""


def upgrade() -> None:
    # Nullable without a default: a change of the catalog only, no rewrite of the table.
    op.execute(
        """
alter table public.contacts add column import_job_id uuid, add column import_row integer;
"""
        + _TENANT_VIEW
    )


def downgrade() -> None:
    # A view cannot lose a column in place: it is dropped and made again without them. The
    # provenance the columns held goes back to being events, as before this revision.
    op.execute(
        """
insert into public.contact_events (company_id, contact_id, kind, actor_id, details, created_at)
select c.company_id, c.id, 'import.created', j.created_by,
  jsonb_build_object('job_id', c.import_job_id, 'row', c.import_row), c.created_at
from public.contacts c
left join public.import_jobs j on j.id = c.import_job_id and j.company_id = c.company_id
where c.import_job_id is not null;
drop view app.company_contacts;
alter table public.contacts drop column import_job_id, drop column import_row;
"""
        + _TENANT_VIEW.replace("create or replace view", "create view")
        + "grant select on app.company_contacts to authenticated;"
    )
