"""SQL of list rules: the rows themselves, and applying a rule to a set of contacts at once.

Every statement names the company (defence in depth on top of RLS). Rules run both in tenant
sessions (a contact created through the API) and as the service role (the end of an import), so
they read `public.contacts` itself, not the tenant view that only answers under a user's JWT
(see contacts/query/source.py); filters compiled against the view are moved onto the table.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import (
    Text,
    any_,
    bindparam,
    delete,
    exists,
    literal,
    literal_column,
    select,
    union_all,
    update,
)
from sqlalchemy.dialects.postgresql import ARRAY, UUID
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.util import ClauseAdapter

from zapcrm.contacts.query import source
from zapcrm.models import ContactEvent, ListRule, SegmentMember

__all__ = [
    "active_rules",
    "add_matching",
    "by_ids",
    "delete_rule",
    "get_rule",
    "imported_by",
    "insert_rule",
    "list_rules",
    "matches",
    "update_rule",
]

# The partial index contact_events_import_job_idx (migration 0013) matches these literals.
_JOB_ID: ColumnElement[str] = literal_column("'job_id'", Text)
_IMPORT_KINDS: list[ColumnElement[str]] = [
    literal_column("'import.created'"),
    literal_column("'import.updated'"),
]


async def list_rules(
    session: AsyncSession, company_id: uuid.UUID, segment_id: uuid.UUID | None = None
) -> Sequence[ListRule]:
    """The company's rules (of one list when given), oldest first."""
    statement = select(ListRule).where(ListRule.company_id == company_id)
    if segment_id is not None:
        statement = statement.where(ListRule.segment_id == segment_id)
    statement = statement.order_by(ListRule.created_at, ListRule.id)
    return (await session.scalars(statement)).all()


async def active_rules(session: AsyncSession, company_id: uuid.UUID) -> Sequence[ListRule]:
    """The company's active rules, in a stable order."""
    statement = (
        select(ListRule)
        .where(ListRule.company_id == company_id, ListRule.active.is_(True))
        .order_by(ListRule.created_at, ListRule.id)
    )
    return (await session.scalars(statement)).all()


async def get_rule(
    session: AsyncSession, company_id: uuid.UUID, rule_id: uuid.UUID
) -> ListRule | None:
    """One rule of the company, or None."""
    statement = select(ListRule).where(ListRule.company_id == company_id, ListRule.id == rule_id)
    return (await session.scalars(statement)).first()


async def insert_rule(session: AsyncSession, values: dict[str, Any]) -> ListRule:
    """Insert a rule and return it."""
    rule = ListRule(**values)
    session.add(rule)
    await session.flush()
    await session.refresh(rule)
    return rule


async def update_rule(
    session: AsyncSession, company_id: uuid.UUID, rule_id: uuid.UUID, values: dict[str, Any]
) -> ListRule | None:
    """Change a rule; None when it is not there."""
    statement = (
        update(ListRule)
        .where(ListRule.company_id == company_id, ListRule.id == rule_id)
        .values(**values)
        .returning(ListRule)
        .execution_options(synchronize_session=False, populate_existing=True)
    )
    return (await session.scalars(statement)).first()


async def delete_rule(session: AsyncSession, company_id: uuid.UUID, rule_id: uuid.UUID) -> bool:
    """Delete a rule; whether it was there."""
    statement = (
        delete(ListRule)
        .where(ListRule.company_id == company_id, ListRule.id == rule_id)
        .returning(ListRule.id)
    )
    return (await session.execute(statement)).first() is not None


def by_ids(contact_ids: Sequence[uuid.UUID]) -> ColumnElement[bool]:
    """Contacts among these ids (the ones an API call just created or changed)."""
    ids = bindparam(None, list(dict.fromkeys(contact_ids)), type_=ARRAY(UUID()))
    return source.table().c.id == any_(ids)


def imported_by(company_id: uuid.UUID, job_id: uuid.UUID) -> ColumnElement[bool]:
    """Contacts an import job created or changed: the ones it created name it on their row
    (migration 0056), the others in their timeline (changes, merges, older imports)."""
    # One IN over both sets stays a semi-join: an OR of the column test and an IN would run
    # the IN as a subplan per contact once its ids outgrow work_mem (a big import's updates).
    created = source.table().alias("created")
    by_row = select(created.c.id).where(
        created.c.company_id == company_id, created.c.import_job_id == job_id
    )
    by_timeline = select(ContactEvent.contact_id).where(
        ContactEvent.details.op("->>", return_type=Text)(_JOB_ID) == str(job_id),
        ContactEvent.kind.in_(_IMPORT_KINDS),
        ContactEvent.company_id == company_id,
    )
    return source.table().c.id.in_(union_all(by_row, by_timeline))


def _on_table(expression: ColumnElement[bool]) -> ColumnElement[bool]:
    # Filters name the columns of the read source (the tenant view); the same names exist on
    # the table.
    adapted: ColumnElement[bool] = ClauseAdapter(source.table(), adapt_on_names=True).traverse(
        expression
    )
    return adapted


async def add_matching(
    session: AsyncSession,
    company_id: uuid.UUID,
    segment_id: uuid.UUID,
    scope: ColumnElement[bool],
    condition: ColumnElement[bool] | None,
) -> int:
    """Put every contact in `scope` matching `condition` on the list, in one statement."""
    table = source.table()
    chosen = select(literal(segment_id, UUID()), table.c.id, table.c.company_id).where(
        *_matching(company_id, scope, condition)
    )
    statement = (
        pg_insert(SegmentMember)
        .from_select(["segment_id", "contact_id", "company_id"], chosen)
        .on_conflict_do_nothing(index_elements=["segment_id", "contact_id"])
    )
    result = await session.execute(statement)
    return int(result.rowcount)  # type: ignore[attr-defined]


async def matches(
    session: AsyncSession,
    company_id: uuid.UUID,
    scope: ColumnElement[bool],
    condition: ColumnElement[bool] | None,
) -> bool:
    """Whether a contact in `scope` matches `condition` (what add_matching would add)."""
    statement = select(exists().where(*_matching(company_id, scope, condition)))
    return bool((await session.execute(statement)).scalar_one())


def _matching(
    company_id: uuid.UUID, scope: ColumnElement[bool], condition: ColumnElement[bool] | None
) -> list[ColumnElement[bool]]:
    """The company's contacts in `scope` that match `condition` (merged ones never do)."""
    table = source.table()
    where = [table.c.company_id == company_id, table.c.merged_into_id.is_(None), scope]
    if condition is not None:
        where.append(_on_table(condition))
    return where
