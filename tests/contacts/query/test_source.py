"""Where reads come from: under RLS the search operators cannot use their indexes (they are not
LEAKPROOF); the tenant view of migration 0010 can, and keeps companies apart just the same."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import psycopg
import pytest
from sqlalchemy import select, text
from sqlalchemy.dialects import postgresql
from sqlalchemy.ext.asyncio import create_async_engine

from tests.conftest import Factory, UserFixture, create_database, drop_database, migrate
from tests.contacts.query.conftest import NOW, Tenant, add_contacts, new_tenant
from zapcrm.config import Settings
from zapcrm.contacts.query import repository, service, source
from zapcrm.contacts.query.schemas import ContactQuery
from zapcrm.contacts.query.search import parse_search, search_clause
from zapcrm.contacts.query.sorting import Sort, order_by
from zapcrm.db import Database
from zapcrm.models import Role

PEOPLE: list[dict[str, Any]] = [
    {"name": "João Silva", "phone_e164": "+5511987654321", "tags": ["vip"]},
    {"name": "Maria Souza", "phone_e164": "+5521912345678", "email": "maria@x.com"},
]


@pytest.fixture(scope="module")
async def view_exists(db: Database) -> AsyncIterator[None]:
    """The proposed app.company_contacts view in the test database (made here if missing)."""
    async with db.service_session() as session:
        present = (
            await session.execute(text("select to_regclass('app.company_contacts')"))
        ).scalar_one()
        if present is None:
            for statement in source.TENANT_VIEW_SQL.split(";"):
                if statement.strip():
                    await session.execute(text(statement))
    try:
        yield
    finally:
        if present is None:
            async with db.service_session() as session:
                await session.execute(text("drop view app.company_contacts"))


@pytest.fixture
def through_view(view_exists: None) -> Iterator[None]:
    """Every read goes through the tenant view while the test runs."""
    before = source.CONTACTS
    source.CONTACTS = source.tenant_view()
    try:
        yield
    finally:
        source.CONTACTS = before


@pytest.fixture
def through_table() -> Iterator[None]:
    """Every read goes to the contacts table itself (under RLS) while the test runs."""
    before = source.CONTACTS
    source.CONTACTS = source.stored_name_table()
    try:
        yield
    finally:
        source.CONTACTS = before


@pytest.fixture
async def pair(db: Database, factory: Factory) -> tuple[Tenant, Tenant]:
    """Two companies with look-alike contacts."""
    first = await new_tenant(factory, roles=[Role.SUPERVISOR])
    second = await new_tenant(factory, roles=[Role.SUPERVISOR])
    await add_contacts(db, first, PEOPLE)
    await add_contacts(db, second, PEOPLE)
    return first, second


@pytest.fixture(scope="module")
async def crowd(db: Database, factory: Factory) -> Tenant:
    """A company with 5,000 contacts with an address each, analysed, where one name search is
    selective."""
    tenant = await new_tenant(factory, roles=[Role.SUPERVISOR])
    await add_contacts(db, tenant, PEOPLE)
    async with db.service_session() as session:
        await session.execute(
            text(
                "insert into contacts (company_id, name, email)"
                " select :c, 'Cliente ' || g,"
                "  'cliente' || g || '@empresa' || mod(g, 97) || '.com.br'"
                " from generate_series(1, 5000) g"
            ),
            {"c": tenant.company_id},
        )
    async with db.engine.begin() as connection:
        await connection.execute(text("analyze contacts"))
    return tenant


async def _search_plan(db: Database, tenant: Tenant, q: str = "joao silvq") -> str:
    term = parse_search(q)
    assert term is not None
    # The search alone (no explicit company filter, which an index on company_id would answer):
    # the question is whether the trigram index may serve the name condition at all.
    statement = select(source.contacts().c.id).where(search_clause(term))
    sql = str(
        statement.compile(
            dialect=postgresql.psycopg.dialect(),  # type: ignore[no-untyped-call]
            compile_kwargs={"literal_binds": True},
        )
    )
    identity = tenant.identity(Role.SUPERVISOR)
    async with db.tenant_session(identity.claims) as session:
        connection = await session.connection()
        # Forbid sequential scans: the question is whether the index CAN be used, which the
        # planner's cost choice on a small table would otherwise hide.
        await connection.exec_driver_sql("set local enable_seqscan = off", ())
        # Sent with empty parameters, so psycopg turns the compiler's %% back into %.
        rows = (await connection.exec_driver_sql(f"explain {sql}", ())).scalars().all()
    return "\n".join(rows)


async def test_under_rls_the_trigram_index_is_off_limits(
    db: Database, crowd: Tenant, through_table: None
) -> None:
    # This pins the reason for source.py: if Postgres ever lets non-LEAKPROOF operators into
    # index scans under RLS, this fails and the view is no longer needed.
    assert "contacts_name_search_idx" not in await _search_plan(db, crowd)


async def test_a_domains_name_is_one_index_range_through_the_view(
    db: Database, crowd: Tenant, through_view: None
) -> None:
    # Without the btree of migration 0044 "@gmail" would read every contact of the company.
    plan = await _search_plan(db, crowd, "@gmail")
    ranges = [line for line in plan.splitlines() if "Index Cond" in line and "split_part" in line]
    assert len(ranges) == 1
    assert "'gmail.'" in ranges[0]


@pytest.mark.parametrize(
    ("typed", "index"),
    [
        ("ana@", "contacts_company_email_idx"),
        ("@empresa7.com.br", "contacts_email_suffix_idx"),
        ("@empresa7", "contacts_email_domain_idx"),
    ],
)
async def test_the_email_indexes_hold_only_addresses_and_still_serve_their_searches(
    db: Database, crowd: Tenant, through_view: None, typed: str, index: str
) -> None:
    # Migration 0059: most contacts have no address, and an entry per contact for NULL cost
    # an import ~10% of Postgres's time. The searches' strict comparisons imply `email is not
    # null`, so the planner still reads the partial indexes, by a range.
    async with db.engine.connect() as connection:
        predicate = await connection.scalar(
            text(
                "select pg_get_expr(indpred, indrelid) from pg_index"
                " where indexrelid = cast(:i as regclass)"
            ),
            {"i": f"public.{index}"},
        )
        # The planner ignores a partial index's statistics of its expressions; the statistics
        # object of 0059 keeps them, or it misjudges how many addresses a range holds
        # (bench/search.py: a one-word search that finds nobody walked the 1M newest contacts).
        expressions = set(
            (
                await connection.scalars(
                    text(
                        "select expr from pg_stats_ext_exprs"
                        " where statistics_name = 'contacts_email_stats' and null_frac is not null"
                    )
                )
            ).all()
        )
    assert predicate == "(email IS NOT NULL)"
    assert {"lower(email)", "reverse(lower(email))"} <= expressions
    assert any(expression.startswith("split_part(lower(email)") for expression in expressions)
    plan = await _search_plan(db, crowd, typed)
    assert f"Index Scan on {index}" in plan or f"Index Scan using {index}" in plan
    # A range (`>=`, or `~>=~` under text_pattern_ops), not the company's whole index.
    assert any("Index Cond" in line and ">=" in line for line in plan.splitlines())


async def test_a_number_without_its_ddd_is_one_index_range_through_the_view(
    db: Database, crowd: Tenant, through_view: None
) -> None:
    # Before the btree of migration 0046 "98765" was 67 ranges, one per DDD.
    plan = await _search_plan(db, crowd, "98765")
    ranges = [line for line in plan.splitlines() if "Index Cond" in line and "substr" in line]
    assert len(ranges) == 1
    assert "'98765'" in ranges[0]
    assert plan.count("Index Cond") == 4  # also as typed, as +55 98765... and as an ending


async def test_a_stages_contacts_are_listed_newest_first_from_one_index(
    db: Database, crowd: Tenant, through_view: None
) -> None:
    # Without migration 0047 the list walked every stage's contacts to fill a page of one.
    statement = (
        select(source.contacts().c.id)
        .where(repository.visible(crowd.company_id), repository.in_stage("negociacao"))
        .order_by(*order_by(Sort.RECENT, None))
        .limit(51)
    )
    sql = str(
        statement.compile(
            dialect=postgresql.psycopg.dialect(),  # type: ignore[no-untyped-call]
            compile_kwargs={"literal_binds": True},
        )
    )
    async with db.tenant_session(crowd.identity(Role.SUPERVISOR).claims) as session:
        connection = await session.connection()
        # A stage of two rows may be read by a bitmap and sorted (cheaper); the question is
        # whether the index gives the order.
        await connection.exec_driver_sql("set local enable_seqscan = off", ())
        await connection.exec_driver_sql("set local enable_bitmapscan = off", ())
        plan = "\n".join((await connection.exec_driver_sql(f"explain {sql}", ())).scalars())
    assert "Index Scan using contacts_company_stage_created_idx" in plan, plan
    assert "Sort" not in plan  # the index gives the order: no need to read the whole stage


@pytest.mark.parametrize(
    "query",
    [
        ContactQuery(),
        ContactQuery(q="joao silvq"),
        ContactQuery(q="11 98765"),
        ContactQuery(q="maria@"),
        ContactQuery(filter={"field": "tags", "operator": "contains", "value": "vip"}),
    ],
)
async def test_the_view_returns_what_the_table_does_and_nothing_else(
    db: Database, pair: tuple[Tenant, Tenant], through_view: None, query: ContactQuery
) -> None:
    first, _second = pair
    identity = first.identity(Role.SUPERVISOR)
    async with db.tenant_session(identity.claims) as session:
        by_view = await service.search_contacts(
            session, identity, query, sort=None, cursor=None, limit=10, now=NOW
        )
        count = await service.count_contacts(session, identity, query, now=NOW)
    source.CONTACTS = source.stored_name_table()
    async with db.tenant_session(identity.claims) as session:
        by_table = await service.search_contacts(
            session, identity, query, sort=None, cursor=None, limit=10, now=NOW
        )
    assert [item.id for item in by_view.items] == [item.id for item in by_table.items]
    assert {item.id for item in by_view.items} <= set(first.contacts.values())
    assert count == len(by_view.items) >= 1


async def test_the_view_shows_only_the_callers_company(
    db: Database, pair: tuple[Tenant, Tenant], through_view: None
) -> None:
    first, second = pair
    # Even a statement that asks for the other company gets nothing: the view's own WHERE
    # reads the company from the JWT claims, as the RLS policy does.
    identity = first.identity(Role.SUPERVISOR)
    async with db.tenant_session(identity.claims) as session:
        rows = (
            await session.execute(
                select(source.contacts().c.id).where(
                    source.contacts().c.company_id == second.company_id
                )
            )
        ).all()
        everything = (await session.execute(select(source.contacts().c.company_id))).all()
    assert rows == []
    assert {row[0] for row in everything} == {first.company_id}
    async with db.tenant_session({"sub": "00000000-0000-0000-0000-000000000000"}) as session:
        assert (await session.execute(select(source.contacts().c.id))).all() == []


@pytest.fixture(scope="module")
async def proposed(settings: Settings) -> AsyncIterator[tuple[Database, Tenant, Tenant]]:
    """A database of its own, migrated (search_name and the view included), two companies."""
    name = f"zapcrm_test_source_{uuid.uuid4().hex[:8]}"
    url = create_database(name)
    try:
        migrate(url)
        with psycopg.connect(url, autocommit=True) as connection:
            tenants = [_seed_company(connection, index) for index in range(2)]
        database = Database.from_settings(
            settings.model_copy(update={"database_url": url}), pool_size=2
        )
        try:
            yield database, tenants[0], tenants[1]
        finally:
            await database.dispose()
    finally:
        drop_database(name)


def _seed_company(connection: psycopg.Connection[Any], index: int) -> Tenant:
    row = connection.execute(
        "insert into companies (name) values (%s) returning id", (f"Empresa {index}",)
    ).fetchone()
    assert row is not None
    company_id = row[0]
    email = f"sup{index}-{uuid.uuid4().hex[:6]}@exemplo.com.br"
    user = connection.execute(
        "insert into auth.users (email) values (%s) returning id", (email,)
    ).fetchone()
    assert user is not None
    connection.execute(
        "insert into profiles (id, company_id, role, email) values (%s, %s, 'supervisor', %s)",
        (user[0], company_id, email),
    )
    tenant = Tenant(
        company_id, {Role.SUPERVISOR: UserFixture(user[0], company_id, email, Role.SUPERVISOR)}
    )
    for name in ("João Silva", "Maria Souza", "Ângela Lima"):
        contact = connection.execute(
            "insert into contacts (company_id, name) values (%s, %s) returning id",
            (company_id, name),
        ).fetchone()
        assert contact is not None
        tenant.contacts[name] = contact[0]
    return tenant


@pytest.fixture(params=["view", "table"])
def stored_name(request: pytest.FixtureRequest) -> Iterator[str]:
    """Reads use the stored search_name, through the tenant view or the table under RLS."""
    before = (source.CONTACTS, source.STORED_SEARCH_NAME)
    source.STORED_SEARCH_NAME = True
    source.CONTACTS = (
        source.tenant_view() if request.param == "view" else source.stored_name_table()
    )
    try:
        yield str(request.param)
    finally:
        source.CONTACTS, source.STORED_SEARCH_NAME = before


async def test_stored_search_name_serves_every_name_search(
    proposed: tuple[Database, Tenant, Tenant], stored_name: str
) -> None:
    database, first, _second = proposed
    identity = first.identity(Role.SUPERVISOR)

    async def names(query: ContactQuery, sort: Sort | None = None) -> list[str]:
        async with database.tenant_session(identity.claims) as session:
            page = await service.search_contacts(
                session, identity, query, sort=sort, cursor=None, limit=10, now=NOW
            )
        return [item.name for item in page.items]

    assert await names(ContactQuery(q="joao silvq")) == ["João Silva"]
    assert await names(ContactQuery(q="angela")) == ["Ângela Lima"]
    assert await names(ContactQuery(q="souza"), Sort.RELEVANCE) == ["Maria Souza"]
    assert await names(ContactQuery(), Sort.NAME) == ["Ângela Lima", "João Silva", "Maria Souza"]
    by_filter = ContactQuery(filter={"field": "name", "operator": "contains", "value": "SILV"})
    assert await names(by_filter) == ["João Silva"]
    async with database.tenant_session(identity.claims) as session:
        count = await service.count_contacts(session, identity, ContactQuery(), now=NOW)
    assert count == 3  # the other company's three look-alikes stay out


async def test_a_search_is_planned_for_what_was_typed_as_it_is_never_prepared(
    settings: Settings, crowd: Tenant
) -> None:
    # psycopg prepares a statement run 5 times on a connection, and Postgres may then keep a
    # generic plan that cannot know a name is rare: it walked the newest contacts, 115-220 ms
    # for one name at 200,000 contacts instead of ~17 ms through the trigram index. A search
    # page is sent unprepared (db.py `unprepared`), planned for its values at every run, and
    # without a `plan_cache_mode` round trip before it.
    engine = create_async_engine(
        settings.sqlalchemy_url, pool_size=1, connect_args={"prepare_threshold": 5}
    )
    one_connection = Database(engine)
    identity = crowd.identity(Role.SUPERVISOR)
    try:
        for _ in range(10):
            async with one_connection.tenant_session(identity.claims) as session:
                page = await service.search_contacts(
                    session, identity, ContactQuery(q="joao"), sort=None, cursor=None, limit=10
                )
                assert [item.name for item in page.items] == ["João Silva"]
                mode = await session.execute(text("select current_setting('plan_cache_mode')"))
                assert mode.scalar_one() == "auto"
        async with one_connection.service_session() as session:
            prepared = (
                await session.execute(text("select statement from pg_prepared_statements"))
            ).scalars()
            statements = list(prepared)
    finally:
        await one_connection.dispose()
    # The connection does prepare what it runs often (the tenant's claims, every time)...
    assert any("request.jwt.claims" in statement for statement in statements), statements
    # ... but never a search.
    assert not [statement for statement in statements if "search_name" in statement]
