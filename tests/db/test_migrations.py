"""Migrations apply to a plain database and to one shaped like Supabase, with the same result."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import psycopg
import pytest
from alembic import command
from sqlalchemy import text

from tests.conftest import (
    Factory,
    claims_for,
    create_database,
    drop_database,
    migrate,
)
from tests.db.seed import seed_company
from zapcrm.cli import alembic_config
from zapcrm.config import load_settings
from zapcrm.db import Database
from zapcrm.models import Base

# What a Supabase project has before our first migration: its auth schema (a subset of the
# real auth.users columns plus ones we never use), its functions as Supabase defines them,
# pg_trgm living in the `extensions` schema, and that schema on the search path.
SUPABASE_PRESHAPE = """
create schema auth;
create table auth.users (
  instance_id uuid,
  id uuid not null primary key,
  aud varchar(255),
  role varchar(255),
  email varchar(255),
  encrypted_password varchar(255),
  email_confirmed_at timestamptz,
  invited_at timestamptz,
  confirmation_token varchar(255),
  recovery_token varchar(255),
  last_sign_in_at timestamptz,
  raw_app_meta_data jsonb,
  raw_user_meta_data jsonb,
  is_super_admin boolean,
  created_at timestamptz,
  updated_at timestamptz,
  phone text unique default null,
  banned_until timestamptz,
  deleted_at timestamptz,
  is_sso_user boolean not null default false,
  is_anonymous boolean not null default false
);
create unique index users_email_partial_key on auth.users (email) where is_sso_user = false;
create function auth.uid() returns uuid language sql stable as $$
  select coalesce(
    nullif(current_setting('request.jwt.claim.sub', true), ''),
    (nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'sub')
  )::uuid
$$;
create function auth.role() returns text language sql stable as $$
  select coalesce(
    nullif(current_setting('request.jwt.claim.role', true), ''),
    (nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'role')
  )::text
$$;
create function auth.jwt() returns jsonb language sql stable as $$
  select coalesce(
    nullif(current_setting('request.jwt.claim', true), ''),
    nullif(current_setting('request.jwt.claims', true), '')
  )::jsonb
$$;
create schema extensions;
create extension pg_trgm schema extensions;
"""


def _preshape_supabase(url: str, name: str) -> None:
    with psycopg.connect(url, autocommit=True) as connection:
        connection.execute(SUPABASE_PRESHAPE)
        connection.execute(f'alter database "{name}" set search_path = "$user", public, extensions')
        # Supabase's users.id has no default (GoTrue generates ids); ours must not need one.
        connection.execute("alter table auth.users alter column id set default gen_random_uuid()")


@pytest.fixture(params=["plain", "supabase"])
def empty_database(request: pytest.FixtureRequest) -> Iterator[str]:
    name = f"zapcrm_mig_{request.param}_{uuid.uuid4().hex[:8]}"
    url = create_database(name)
    if request.param == "supabase":
        _preshape_supabase(url, name)
    try:
        yield url
    finally:
        drop_database(name)


def _schema_fingerprint(url: str) -> dict[str, object]:
    with psycopg.connect(url) as connection:
        columns = connection.execute(
            "select table_name, column_name, data_type, is_nullable"
            " from information_schema.columns where table_schema = 'public'"
            " order by 1, 2"
        ).fetchall()
        policies = connection.execute(
            "select tablename, policyname, cmd, qual, with_check from pg_policies"
            " where schemaname = 'public' order by 1, 2"
        ).fetchall()
        indexes = connection.execute(
            # Definitions too: a migration may only rebuild an index under its name.
            "select indexname, indexdef from pg_indexes where schemaname = 'public' order by 1"
        ).fetchall()
        keys = connection.execute(
            "select conrelid::regclass::text, conname, pg_get_constraintdef(oid), convalidated"
            " from pg_constraint where contype = 'f'"
            " and connamespace = 'public'::regnamespace order by 1, 2"
        ).fetchall()
        views = connection.execute(
            "select table_schema, table_name, view_definition from information_schema.views"
            " where table_schema in ('public', 'app') order by 1, 2"
        ).fetchall()
        functions = connection.execute(
            # Bodies and languages too: a migration may only redefine a function.
            "select p.proname, pg_get_function_identity_arguments(p.oid), l.lanname, p.prosrc"
            " from pg_proc p join pg_namespace n on n.oid = p.pronamespace"
            " join pg_language l on l.oid = p.prolang where n.nspname = 'app' order by 1, 2"
        ).fetchall()
    return {
        "columns": columns,
        "policies": policies,
        "indexes": indexes,
        "keys": keys,
        "functions": functions,
        "views": views,
    }


def _new_company(connection: psycopg.Connection[Any]) -> uuid.UUID:
    """A company inserted on a plain connection, for data a migration must carry."""
    row = connection.execute("insert into companies (name) values ('Loja') returning id").fetchone()
    assert row is not None
    return uuid.UUID(str(row[0]))


def test_upgrade_downgrade_upgrade(empty_database: str) -> None:
    config = alembic_config(empty_database)
    migrate(empty_database)
    head = _schema_fingerprint(empty_database)
    assert head["policies"], "RLS policies were created"
    command.downgrade(config, "-1")  # type: ignore[arg-type]
    assert _schema_fingerprint(empty_database) != head
    command.upgrade(config, "head")  # type: ignore[arg-type]
    assert _schema_fingerprint(empty_database) == head
    command.downgrade(config, "0002")  # type: ignore[arg-type]
    assert _schema_fingerprint(empty_database)["policies"] == []
    command.upgrade(config, "head")  # type: ignore[arg-type]
    assert _schema_fingerprint(empty_database) == head
    command.downgrade(config, "base")  # type: ignore[arg-type]
    command.upgrade(config, "head")  # type: ignore[arg-type]
    assert _schema_fingerprint(empty_database) == head


def test_contacts_from_before_0039_are_in_their_stage_since_its_last_recorded_change(
    empty_database: str,
) -> None:
    config = alembic_config(empty_database)
    command.upgrade(config, "0038")  # type: ignore[arg-type]
    plain = empty_database.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(plain, autocommit=True) as connection:
        company = _new_company(connection)
        for name in ("Ana", "Bia"):
            connection.execute(
                "insert into contacts (company_id, name, funnel_stage, created_at)"
                " values (%s, %s, 'proposta', '2026-01-05T12:00:00Z')",
                (company, name),
            )
        moved = connection.execute("select id from contacts where name = 'Ana'").fetchone()
        assert moved is not None
        for kind, changes, at in (
            ("contact.updated", '{"funnel_stage": {"from": null, "to": "novo"}}', "2026-02-01"),
            (
                "import.updated",
                '{"funnel_stage": {"from": "novo", "to": "proposta"}}',
                "2026-03-01",
            ),
            ("contact.updated", '{"name": {"from": "A", "to": "Ana"}}', "2026-04-01"),
        ):
            connection.execute(
                "insert into contact_events (company_id, contact_id, kind, details, created_at)"
                " values (%s, %s, %s, jsonb_build_object('changes', %s::jsonb), %s)",
                (company, moved[0], kind, changes, f"{at}T12:00:00Z"),
            )
    command.upgrade(config, "head")  # type: ignore[arg-type]
    with psycopg.connect(plain, autocommit=True) as connection:
        since: dict[str, str] = dict(
            connection.execute(
                "select name, to_char(stage_since at time zone 'UTC', 'YYYY-MM-DD')"
                " from contacts order by name"
            ).fetchall()
        )
        assert since == {"Ana": "2026-03-01", "Bia": "2026-01-05"}
        # From now on the trigger keeps it: a stage change sets it, any other change does not.
        connection.execute("update contacts set name = 'Bianca' where name = 'Bia'")
        connection.execute("update contacts set funnel_stage = 'cliente' where name = 'Ana'")
        today: dict[str, bool] = dict(
            connection.execute(
                "select name, stage_since > now() - interval '1 minute' from contacts"
            ).fetchall()
        )
        assert today == {"Ana": True, "Bianca": False}


def test_plain_and_supabase_shaped_schemas_are_identical() -> None:
    fingerprints = []
    for shape in ("plain", "supabase"):
        name = f"zapcrm_cmp_{shape}_{uuid.uuid4().hex[:8]}"
        url = create_database(name)
        try:
            if shape == "supabase":
                _preshape_supabase(url, name)
            migrate(url)
            fingerprints.append(_schema_fingerprint(url))
        finally:
            drop_database(name)
    assert fingerprints[0] == fingerprints[1]


def test_models_match_the_migrated_schema(database_url: str) -> None:
    """Every model column exists in the database with the same nullability, and vice versa."""
    with psycopg.connect(database_url) as connection:
        rows = connection.execute(
            "select table_schema || '.' || table_name, column_name, is_nullable = 'YES'"
            " from information_schema.columns"
            " where table_schema in ('public', 'app')"
            "    or (table_schema = 'auth' and table_name = 'users')"
        ).fetchall()
    database: dict[str, dict[str, bool]] = {}
    for table, column, nullable in rows:
        database.setdefault(table, {})[column] = nullable
    for table in Base.metadata.sorted_tables:
        key = f"{table.schema or 'public'}.{table.name}"
        model_columns = {column.name: bool(column.nullable) for column in table.columns}
        if key == "auth.users":  # the shim has more columns than the model maps
            assert model_columns.items() <= database[key].items()
        else:
            assert model_columns == database[key], key


_DELETE_RULES = {"a": "NO ACTION", "r": "RESTRICT", "c": "CASCADE", "n": "SET NULL"}


def test_models_declare_the_migrated_foreign_keys(database_url: str) -> None:
    """Every foreign key of the database is in the models (same columns, target and delete
    rule) and vice versa: a reader of the models sees which references are same-company."""
    with psycopg.connect(database_url) as connection:
        rows = connection.execute(
            "select c.conname, c.conrelid::regclass::text, c.confrelid::regclass::text,"
            " array(select a.attname from unnest(c.conkey) with ordinality k(n, i)"
            "   join pg_attribute a on a.attrelid = c.conrelid and a.attnum = k.n order by k.i),"
            " array(select a.attname from unnest(c.confkey) with ordinality k(n, i)"
            "   join pg_attribute a on a.attrelid = c.confrelid and a.attnum = k.n order by k.i),"
            " c.confdeltype"
            " from pg_constraint c join pg_namespace n on n.oid = c.connamespace"
            " where c.contype = 'f' and n.nspname in ('public', 'app')"
        ).fetchall()
    database = {
        (name, table.removeprefix("public."), tuple(columns),
         target.removeprefix("public."), tuple(target_columns), _DELETE_RULES[rule])
        for name, table, target, columns, target_columns, rule in rows
    }  # fmt: skip
    models = set()
    for table in Base.metadata.sorted_tables:
        if table.schema == "auth":
            continue
        for key in table.foreign_key_constraints:
            target = key.elements[0].column.table
            models.add(
                (
                    key.name,
                    table.fullname,
                    tuple(key.column_keys),
                    target.fullname,
                    tuple(element.column.name for element in key.elements),
                    (key.ondelete or "NO ACTION").split(" (")[0],
                )
            )
    assert models == database


@pytest.fixture
async def supabase_db(empty_database: str) -> AsyncIterator[Database]:
    migrate(empty_database)
    settings = load_settings(environment="test", database_url=empty_database)
    database = Database.from_settings(settings, pool_size=2)
    try:
        yield database
    finally:
        await database.dispose()


async def test_rls_behaves_the_same_on_both_shapes(supabase_db: Database) -> None:
    factory = Factory(supabase_db)
    a = await seed_company(supabase_db, factory)
    b = await seed_company(supabase_db, factory)
    async with supabase_db.tenant_session(claims_for(a.operator)) as session:
        companies = set((await session.execute(text("select company_id from contacts"))).scalars())
        conversations = set(
            (await session.execute(text("select id from evolution_conversations"))).scalars()
        )
        me = (await session.execute(text("select auth.uid()"))).scalar_one()
    assert companies == {a.company_id}
    assert conversations == {a.mine_conversation_id, a.unassigned_conversation_id}
    assert me == a.operator.id
    assert b.company_id not in companies


def test_two_databases_migrated_at_once_both_get_the_cluster_roles() -> None:
    """Roles are cluster-wide: the second CREATE ROLE of a race waits for the first and fails
    on pg_authid's unique index, which the shim's role block must absorb (a fresh server with
    two test workers hit it). The block runs here with scratch role names."""
    import importlib.util
    import threading
    from pathlib import Path

    from tests.conftest import ADMIN_URL

    path = Path(__file__).parents[2] / "migrations" / "versions" / "0001_supabase_shim.py"
    spec = importlib.util.spec_from_file_location("shim_0001", path)
    assert spec is not None
    assert spec.loader is not None
    shim = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(shim)
    suffix = uuid.uuid4().hex[:8]
    names = {role: f"zz_{role}_{suffix}" for role in ("anon", "authenticated", "service_role")}
    block: str = shim._ROLES
    for role, scratch in names.items():
        block = block.replace(f"'{role}'", f"'{scratch}'")
    outcome: list[BaseException | None] = []

    def migrate_the_other_database() -> None:
        try:
            with psycopg.connect(ADMIN_URL) as other:
                other.execute(block)
            outcome.append(None)
        except BaseException as error:  # noqa: BLE001 - reported by the assertion below
            outcome.append(error)

    winner = psycopg.connect(ADMIN_URL)
    try:
        winner.execute(f"create role {names['anon']} nologin noinherit")
        racer = threading.Thread(target=migrate_the_other_database)
        racer.start()
        racer.join(timeout=1)  # it waits on the winner's uncommitted role
        winner.commit()
        racer.join(timeout=30)
        assert outcome == [None]
        with psycopg.connect(ADMIN_URL, autocommit=True) as check:
            found = check.execute(
                "select count(*) from pg_roles where rolname = any(%s)", (list(names.values()),)
            ).fetchone()
        assert found == (3,)
    finally:
        winner.rollback()
        with psycopg.connect(ADMIN_URL, autocommit=True) as cleanup:
            for scratch in names.values():
                cleanup.execute(f"drop role if exists {scratch}")
        winner.close()


def test_contacts_an_import_created_keep_their_provenance_through_a_downgrade_of_0056(
    empty_database: str,
) -> None:
    """0056 keeps an import's job and row on the contacts it created; going back below it, they
    become the `import.created` events they were before, which the timeline then reads."""
    config = alembic_config(empty_database)
    command.upgrade(config, "0056")  # type: ignore[arg-type]
    plain = empty_database.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(plain, autocommit=True) as connection:
        company = _new_company(connection)
        job = connection.execute(
            "insert into import_jobs (company_id, file_name) values (%s, 'clientes.csv')"
            " returning id",
            (company,),
        ).fetchone()
        assert job is not None
        for name, row in (("Ana", 2), ("Bia", 7), ("Caio", None)):
            connection.execute(
                "insert into contacts (company_id, name, import_job_id, import_row,"
                " created_at) values (%s, %s, %s, %s, '2026-11-02T12:00:00Z')",
                (company, name, job[0] if row else None, row),
            )
    command.downgrade(config, "0055")  # type: ignore[arg-type]
    with psycopg.connect(plain, autocommit=True) as connection:
        events = connection.execute(
            "select c.name, e.kind, e.details ->> 'job_id', (e.details ->> 'row')::int,"
            " to_char(e.created_at at time zone 'UTC', 'YYYY-MM-DD')"
            " from contact_events e join contacts c on c.id = e.contact_id order by c.name"
        ).fetchall()
        assert events == [
            ("Ana", "import.created", str(job[0]), 2, "2026-11-02"),
            ("Bia", "import.created", str(job[0]), 7, "2026-11-02"),
        ]
        columns = connection.execute(
            "select column_name from information_schema.columns"
            " where table_schema = 'app' and table_name = 'company_contacts'"
            " and column_name like 'import%%'"
        ).fetchall()
        assert columns == []
    command.upgrade(config, "head")  # type: ignore[arg-type]
