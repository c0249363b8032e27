"""The words of names that went (a contact deleted, a name changed) leave the company's name
words once no contact of the company has them any more (migration 0058, contacts/jobs.py)."""

from __future__ import annotations

import uuid

from sqlalchemy import text

from tests.conftest import Factory
from tests.contacts.query.conftest import Tenant, add_contacts, new_tenant
from zapcrm.contacts.jobs import prune_name_words_once
from zapcrm.db import Database
from zapcrm.runtime import Runtime


async def _words(db: Database, company_id: uuid.UUID) -> set[str]:
    async with db.service_session() as session:
        rows = await session.execute(
            text("select word from contact_name_words where company_id = :company"),
            {"company": company_id},
        )
        return {row[0] for row in rows}


async def _named(db: Database, tenant: Tenant, statement: str, name: str) -> None:
    async with db.service_session() as session:
        await session.execute(
            text(statement + " where company_id = :company and name = :name"),
            {"company": tenant.company_id, "name": name},
        )


async def test_the_words_nobody_has_any_more_go_and_the_others_stay(
    db: Database, factory: Factory, runtime: Runtime
) -> None:
    tenant = await new_tenant(factory)
    other = await new_tenant(factory)
    await add_contacts(
        db,
        tenant,
        [{"name": "Zebedeu Quixaba"}, {"name": "Maria Quixaba"}, {"name": "Otávio Pitanga"}],
    )
    await add_contacts(db, other, [{"name": "Zebedeu Pitanga"}])

    await _named(db, tenant, "delete from contacts", "Zebedeu Quixaba")
    await _named(db, tenant, "update contacts set name = 'Otávio Caju'", "Otávio Pitanga")
    # Marked only: a search still finds nobody by them, the upkeep removes them.
    assert await _words(db, tenant.company_id) >= {"zebedeu", "pitanga"}

    assert await prune_name_words_once(runtime) >= 2

    assert await _words(db, tenant.company_id) == {"maria", "quixaba", "otavio", "caju"}
    # Another company's words are its own: its Zebedeu Pitanga keeps both.
    assert await _words(db, other.company_id) == {"zebedeu", "pitanga"}
    async with db.service_session() as session:
        stale = await session.execute(
            text("select count(*) from contact_name_words where stale and company_id = :c"),
            {"c": tenant.company_id},
        )
        assert stale.scalar_one() == 0


async def test_the_words_of_a_bulk_delete_go_too(
    db: Database, factory: Factory, runtime: Runtime
) -> None:
    tenant = await new_tenant(factory)
    await add_contacts(db, tenant, [{"name": f"Cliente Sobrenome{n:03d}"} for n in range(300)])

    async with db.service_session() as session:
        await session.execute(
            text("delete from contacts where company_id = :company"),
            {"company": tenant.company_id},
        )
    await prune_name_words_once(runtime)

    assert await _words(db, tenant.company_id) == set()
