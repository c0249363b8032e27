"""Row-level security: nothing crosses companies, operators see only what is theirs.

Every probe goes through `Database.tenant_session`, the same session factory the API uses.
"""

from __future__ import annotations

import uuid

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from tests.conftest import Factory, claims_for, login
from tests.db.seed import CompanyGraph, seed_company
from zapcrm.db import Database

# Every table of the public schema; a new table fails test_every_public_table_is_probed
# until it has RLS and probes here.
TENANT_TABLES = (
    "companies",
    "profiles",
    "evolution_instances",
    "contacts",
    "contact_identities",
    "contact_stage_tallies",
    "contact_name_words",
    "evolution_conversations",
    "conversation_cycles",
    "evolution_messages",
    "evolution_pending_updates",
    "segments",
    "import_jobs",
    "tasks",
    "outbox",
    "audit_log",
    "contact_attributes",
    "funnel_stages",
    "segment_members",
    "contact_events",
    "quick_replies",
    "conversation_notes",
    "list_rules",
    "user_invites",
    "campaigns",
    "campaign_recipients",
    "business_hours",
    "distribution_settings",
    "agent_availability",
    "scheduled_messages",
    "departments",
    "department_members",
    "department_menus",
    "satisfaction_surveys",
)

# An attempt to create a row in company :b, using :b's own parents where a parent is needed.
INSERT_INTO_OTHER_COMPANY = {
    "companies": "insert into companies (name) values ('Intrusa')",
    "profiles": "insert into profiles (id, company_id, role, email)"
    " values (:me, :b, 'admin', 'intruso@exemplo.com')",
    "evolution_instances": "insert into evolution_instances"
    " (company_id, external_id, server_url, api_key_hash)"
    " values (:b, 'intrusa', 'http://evo.test', repeat('b', 64))",
    "contacts": "insert into contacts (company_id, name) values (:b, 'Intruso')",
    "contact_identities": "insert into contact_identities (company_id, contact_id, kind, value)"
    " values (:b, :b_contact, 'phone', '5511900000000')",
    "contact_stage_tallies": "insert into contact_stage_tallies (company_id, contacts)"
    " values (:b, 1)",
    "contact_name_words": "insert into contact_name_words (company_id, word) values (:b, 'x')",
    "evolution_conversations": "insert into evolution_conversations"
    " (company_id, instance_id, remote_jid) values (:b, :b_instance, 'intruso@s.whatsapp.net')",
    "conversation_cycles": "insert into conversation_cycles"
    " (company_id, conversation_id, started_at) values (:b, :b_conversation, now())",
    "evolution_messages": "insert into evolution_messages (company_id, instance_id,"
    " conversation_id, key_id, from_me, remote_jid, type, message_timestamp) values"
    " (:b, :b_instance, :b_conversation, 'INTRUSO', true, 'x@s.whatsapp.net', 'text', now())",
    "evolution_pending_updates": "insert into evolution_pending_updates"
    " (company_id, instance_id, key_id, kind, payload)"
    " values (:b, :b_instance, 'X', 'status', '{}')",
    "segments": "insert into segments (company_id, name) values (:b, 'Intrusos')",
    "import_jobs": "insert into import_jobs (company_id, created_by, file_name)"
    " values (:b, :me, 'intruso.csv')",
    "tasks": "insert into tasks (company_id, title) values (:b, 'Intrusa')",
    "outbox": "insert into outbox (company_id, stream, payload) values (:b, 'x', '{}')",
    "audit_log": "insert into audit_log (company_id, actor_id, action, target_type)"
    " values (:b, :me, 'intrusion', 'company')",
    "contact_attributes": "insert into contact_attributes (company_id, key, label, type)"
    " values (:b, 'intruso', 'Intruso', 'text')",
    "funnel_stages": "insert into funnel_stages (company_id, key, label)"
    " values (:b, 'intruso', 'Intruso')",
    "segment_members": "insert into segment_members (segment_id, contact_id, company_id)"
    " values (:b_segment, :b_contact, :b)",
    "contact_events": "insert into contact_events (company_id, contact_id, kind)"
    " values (:b, :b_contact, 'intrusion')",
    "quick_replies": "insert into quick_replies (company_id, shortcut, title, body)"
    " values (:b, '/intruso', 'Intruso', 'x')",
    "conversation_notes": "insert into conversation_notes"
    " (company_id, conversation_id, author_id, body) values (:b, :b_conversation, :me, 'x')",
    "list_rules": "insert into list_rules (company_id, segment_id, name)"
    " values (:b, :b_list, 'Intrusa')",
    "user_invites": "insert into user_invites (company_id, email, role, token_hash, expires_at)"
    " values (:b, 'intruso@exemplo.com', 'admin', repeat('a', 64), now() + interval '1 day')",
    "campaigns": "insert into campaigns (company_id, instance_id, name, variants)"
    " values (:b, :b_instance, 'Intrusa', array['oi'])",
    "campaign_recipients": "insert into campaign_recipients"
    " (company_id, campaign_id, contact_id, position) values (:b, :b_campaign, :b_contact, 9)",
    "business_hours": "insert into business_hours (company_id) values (:b)",
    "distribution_settings": "insert into distribution_settings (company_id) values (:b)",
    # Even a row of one's own: the switch is personal and the company is B's.
    "agent_availability": "insert into agent_availability (company_id, user_id) values (:b, :me)",
    "scheduled_messages": "insert into scheduled_messages"
    " (company_id, conversation_id, created_by, body, send_at)"
    " values (:b, :b_conversation, :me, 'x', now())",
    "departments": "insert into departments (company_id, name) values (:b, 'Intrusa')",
    "department_members": "insert into department_members (company_id, department_id, user_id)"
    " values (:b, gen_random_uuid(), :me)",
    "department_menus": "insert into department_menus (company_id, greeting) values (:b, 'x')",
    "satisfaction_surveys": "insert into satisfaction_surveys (company_id, question, thanks)"
    " values (:b, 'x', 'y')",
}


# Tables only the service role touches: `authenticated` has no privilege on them at all.
SERVICE_ONLY = frozenset({"evolution_pending_updates", "user_invites"})
# A column of each service-only table, for probing an update (the privilege check comes after
# the column is resolved).
SERVICE_ONLY_COLUMN = {"evolution_pending_updates": "key_id", "user_invites": "email"}
# Tables where `authenticated` may update only some columns (never company_id): the column
# they may update, for probing the policy itself.
UPDATABLE_COLUMN = {"conversation_notes": "body"}


def _company_column(table: str) -> str:
    return "id" if table == "companies" else "company_id"


@pytest.fixture(scope="module")
async def company_a(db: Database, factory: Factory) -> CompanyGraph:
    return await seed_company(db, factory)


@pytest.fixture(scope="module")
async def company_b(db: Database, factory: Factory) -> CompanyGraph:
    return await seed_company(db, factory)


async def _count(db: Database, table: str, company_id: uuid.UUID) -> int:
    async with db.service_session() as session:
        result = await session.execute(
            text(f"select count(*) from {table} where {_company_column(table)} = :c"),
            {"c": company_id},
        )
        return int(result.scalar_one())


async def test_every_public_table_is_probed_and_has_rls(db: Database) -> None:
    async with db.service_session() as session:
        rows = (
            await session.execute(
                text("select tablename, rowsecurity from pg_tables where schemaname = 'public'")
            )
        ).all()
    tables = {name: rls for name, rls in rows if name != "alembic_version"}
    assert set(tables) == set(TENANT_TABLES)
    assert all(tables.values()), [name for name, rls in tables.items() if not rls]


@pytest.mark.parametrize("table", TENANT_TABLES)
async def test_admin_of_a_reads_nothing_of_b(
    db: Database, company_a: CompanyGraph, company_b: CompanyGraph, table: str
) -> None:
    assert await _count(db, table, company_b.company_id) > 0  # the probe has something to find
    if table in SERVICE_ONLY:
        with pytest.raises(DBAPIError, match="permission denied"):
            async with db.tenant_session(claims_for(company_a.admin)) as session:
                await session.execute(text(f"select count(*) from {table}"))
        return
    async with db.tenant_session(claims_for(company_a.admin)) as session:
        column = _company_column(table)
        foreign = await session.execute(
            text(f"select count(*) from {table} where {column} <> :a"), {"a": company_a.company_id}
        )
        assert foreign.scalar_one() == 0


@pytest.mark.parametrize("table", TENANT_TABLES)
async def test_admin_of_a_cannot_insert_into_b(
    db: Database, company_a: CompanyGraph, company_b: CompanyGraph, table: str
) -> None:
    before = await _count(db, table, company_b.company_id)
    params = {
        "b": company_b.company_id,
        "me": company_a.admin.id,
        "b_contact": company_b.contact_id,
        "b_instance": company_b.instance_id,
        "b_conversation": company_b.unassigned_conversation_id,
        "b_segment": company_b.segment_id,
        "b_list": company_b.list_id,
        "b_campaign": company_b.campaign_id,
    }
    with pytest.raises(DBAPIError, match=r"row-level security|permission denied"):
        async with db.tenant_session(claims_for(company_a.admin)) as session:
            await session.execute(text(INSERT_INTO_OTHER_COMPANY[table]), params)
    assert await _count(db, table, company_b.company_id) == before


@pytest.mark.parametrize("table", TENANT_TABLES)
async def test_admin_of_a_cannot_update_or_delete_b(
    db: Database, company_a: CompanyGraph, company_b: CompanyGraph, table: str
) -> None:
    before = await _count(db, table, company_b.company_id)
    column = _company_column(table)
    if table in SERVICE_ONLY:
        probe = SERVICE_ONLY_COLUMN[table]
        for statement in (f"update {table} set {probe} = {probe}", f"delete from {table}"):
            with pytest.raises(DBAPIError, match="permission denied"):
                async with db.tenant_session(claims_for(company_a.admin)) as session:
                    await session.execute(text(statement))
        assert await _count(db, table, company_b.company_id) == before
        return
    change = f"{column} = :a"
    if table in UPDATABLE_COLUMN:
        change = f"{UPDATABLE_COLUMN[table]} = {UPDATABLE_COLUMN[table]}"
    async with db.tenant_session(claims_for(company_a.admin)) as session:
        updated = await session.execute(
            text(f"update {table} set {change} where {column} = :b"),
            {"a": company_a.company_id, "b": company_b.company_id},
        )
        deleted = await session.execute(
            text(f"delete from {table} where {column} = :b"), {"b": company_b.company_id}
        )
        assert (updated.rowcount, deleted.rowcount) == (0, 0)  # type: ignore[attr-defined]
    assert await _count(db, table, company_b.company_id) == before


async def test_a_row_of_a_cannot_point_into_b(
    db: Database, company_a: CompanyGraph, company_b: CompanyGraph
) -> None:
    """A message tagged with A's company but attached to B's conversation is refused."""
    with pytest.raises(DBAPIError, match="row-level security"):
        async with db.tenant_session(claims_for(company_a.admin)) as session:
            await session.execute(
                text(
                    "insert into evolution_messages (company_id, instance_id, conversation_id,"
                    " key_id, from_me, remote_jid, type, message_timestamp) values"
                    " (:a, :a_instance, :b_conversation, 'X', true, 'x', 'text', now())"
                ),
                {
                    "a": company_a.company_id,
                    "a_instance": company_a.instance_id,
                    "b_conversation": company_b.mine_conversation_id,
                },
            )


async def test_a_campaign_of_a_cannot_name_a_number_or_contact_of_b(
    db: Database, company_a: CompanyGraph, company_b: CompanyGraph
) -> None:
    """Foreign keys do not see RLS: without the policies' checks, A's campaign could send to
    B's customers from B's number (the dispatcher runs as the service role)."""
    params = {
        "a": company_a.company_id,
        "a_campaign": company_a.campaign_id,
        "a_instance": company_a.instance_id,
        "b_contact": company_b.contact_id,
        "b_instance": company_b.instance_id,
    }
    for statement in (
        "insert into campaigns (company_id, instance_id, name, variants)"
        " values (:a, :b_instance, 'Alheia', array['oi'])",
        "update campaigns set instance_id = :b_instance where id = :a_campaign",
        "insert into campaign_recipients (company_id, campaign_id, contact_id, position)"
        " values (:a, :a_campaign, :b_contact, 2)",
        "update campaign_recipients set contact_id = :b_contact where campaign_id = :a_campaign",
    ):
        with pytest.raises(DBAPIError, match="row-level security"):
            async with db.tenant_session(claims_for(company_a.supervisor)) as session:
                await session.execute(text(statement), params)


async def test_no_row_of_a_can_name_a_contact_of_b(
    db: Database, company_a: CompanyGraph, company_b: CompanyGraph
) -> None:
    """RLS checks the row's company; the (company_id, contact_id) keys check that the contact
    named is of that company, for users and for the service role alike (an identity of A on
    B's contact would route A's WhatsApp traffic to B's person)."""
    params = {
        "a": company_a.company_id,
        "a_contact": company_a.contact_id,
        "a_list": company_a.list_id,
        "a_campaign": company_a.campaign_id,
        "b_contact": company_b.contact_id,
    }
    for statement in (
        "insert into campaign_recipients (company_id, campaign_id, contact_id, position)"
        " values (:a, :a_campaign, :b_contact, 2)",
        "insert into contact_identities (company_id, contact_id, kind, value)"
        " values (:a, :b_contact, 'phone', '5511900000001')",
        "insert into contact_events (company_id, contact_id, kind) values (:a, :b_contact, 'note')",
        "insert into segment_members (company_id, segment_id, contact_id)"
        " values (:a, :a_list, :b_contact)",
        "insert into tasks (company_id, title, contact_id) values (:a, 'x', :b_contact)",
        "update evolution_conversations set contact_id = :b_contact where company_id = :a",
        "update contacts set merged_into_id = :b_contact where id = :a_contact",
    ):
        with pytest.raises(DBAPIError, match="foreign key"):
            async with db.service_session() as session:
                await session.execute(text(statement), params)


async def test_no_row_of_a_can_name_a_chat_number_list_campaign_or_user_of_b(
    db: Database, company_a: CompanyGraph, company_b: CompanyGraph
) -> None:
    """The same for every other reference between two tables of a company."""
    params = {
        "a": company_a.company_id,
        "a_instance": company_a.instance_id,
        "a_chat": company_a.mine_conversation_id,
        "a_contact": company_a.contact_id,
        "a_campaign": company_a.campaign_id,
        "b_instance": company_b.instance_id,
        "b_chat": company_b.mine_conversation_id,
        "b_user": company_b.operator.id,
        "b_list": company_b.list_id,
        "b_campaign": company_b.campaign_id,
    }
    for statement in (
        "update evolution_conversations set instance_id = :b_instance where id = :a_chat",
        "update evolution_conversations set assignee_id = :b_user where id = :a_chat",
        "insert into evolution_messages (company_id, instance_id, conversation_id, key_id,"
        " from_me, remote_jid, type, message_timestamp)"
        " values (:a, :a_instance, :b_chat, 'X', true, 'x', 'text', now())",
        "insert into conversation_notes (company_id, conversation_id, body)"
        " values (:a, :b_chat, 'x')",
        "insert into tasks (company_id, title, conversation_id) values (:a, 'x', :b_chat)",
        "insert into tasks (company_id, title, assignee_id) values (:a, 'x', :b_user)",
        "insert into segment_members (company_id, segment_id, contact_id)"
        " values (:a, :b_list, :a_contact)",
        "update campaigns set instance_id = :b_instance where id = :a_campaign",
        "insert into campaign_recipients (company_id, campaign_id, contact_id, position)"
        " values (:a, :b_campaign, :a_contact, 9)",
    ):
        with pytest.raises(DBAPIError, match="foreign key"):
            async with db.service_session() as session:
                await session.execute(text(statement), params)


async def test_only_supervisors_and_admins_see_campaigns(
    db: Database, company_a: CompanyGraph
) -> None:
    operator = claims_for(company_a.operator)
    for table in ("campaigns", "campaign_recipients"):
        assert await _visible(db, operator, f"select id from {table}") == set(), table
        seen = await _visible(db, claims_for(company_a.supervisor), f"select id from {table}")
        assert len(seen) == 1, table


async def test_everyone_reads_the_business_hours_and_only_admins_change_them(
    db: Database, company_a: CompanyGraph
) -> None:
    change = "update business_hours set away_message = 'Fechado' returning company_id"
    for member in (company_a.operator, company_a.supervisor):
        read = await _visible(db, claims_for(member), "select company_id from business_hours")
        assert read == {company_a.company_id}
        assert await _visible(db, claims_for(member), change) == set()
    assert await _visible(db, claims_for(company_a.admin), change) == {company_a.company_id}


async def _visible(db: Database, claims: dict[str, str], sql: str) -> set[uuid.UUID]:
    async with db.tenant_session(claims) as session:
        return set((await session.execute(text(sql))).scalars())


async def test_operator_sees_own_and_unassigned_conversations_only(
    db: Database, company_a: CompanyGraph
) -> None:
    operator = claims_for(company_a.operator)
    conversations = await _visible(db, operator, "select id from evolution_conversations")
    assert conversations == {
        company_a.mine_conversation_id,
        company_a.unassigned_conversation_id,
    }
    for child in ("evolution_messages", "conversation_cycles", "conversation_notes"):
        parents = await _visible(db, operator, f"select conversation_id from {child}")
        assert parents == conversations, child


async def test_operator_cannot_touch_another_operators_conversation(
    db: Database, company_a: CompanyGraph
) -> None:
    async with db.tenant_session(claims_for(company_a.operator)) as session:
        result = await session.execute(
            text("update evolution_conversations set status = 'closed' where id = :id"),
            {"id": company_a.others_conversation_id},
        )
        assert result.rowcount == 0  # type: ignore[attr-defined]
        messages = await session.execute(
            text("update evolution_messages set body = 'x' where conversation_id = :id"),
            {"id": company_a.others_conversation_id},
        )
        assert messages.rowcount == 0  # type: ignore[attr-defined]


async def test_notes_are_written_only_in_visible_chats_and_in_ones_own_name(
    db: Database, company_a: CompanyGraph
) -> None:
    params = {
        "company": company_a.company_id,
        "me": company_a.operator.id,
        "colleague": company_a.other_operator.id,
        "mine": company_a.mine_conversation_id,
        "others": company_a.others_conversation_id,
    }
    insert = (
        "insert into conversation_notes (company_id, conversation_id, author_id, body)"
        " values (:company, :{conversation}, :{author}, 'nota')"
    )
    for conversation, author in (("others", "me"), ("mine", "colleague")):
        with pytest.raises(DBAPIError, match="row-level security"):
            async with db.tenant_session(claims_for(company_a.operator)) as session:
                await session.execute(
                    text(insert.format(conversation=conversation, author=author)), params
                )
    async with db.tenant_session(claims_for(company_a.operator)) as session:
        await session.execute(text(insert.format(conversation="mine", author="me")), params)


async def test_notes_are_changed_only_by_their_author_or_a_supervisor(
    db: Database, company_a: CompanyGraph
) -> None:
    params = {
        "company": company_a.company_id,
        "me": company_a.operator.id,
        "supervisor": company_a.supervisor.id,
        "mine": company_a.mine_conversation_id,
        "others": company_a.others_conversation_id,
    }
    async with db.service_session() as session:
        ids = {
            label: (
                await session.execute(
                    text(
                        "insert into conversation_notes (company_id, conversation_id,"
                        f" author_id, body) values (:company, :{chat}, :{author}, :label)"
                        " returning id"
                    ),
                    params | {"label": label},
                )
            ).scalar_one()
            for label, chat, author in (
                ("own", "mine", "me"),
                ("supervisors", "mine", "supervisor"),
                ("own-in-lost-chat", "others", "me"),
            )
        }
    by_id = {"ids": list(ids.values())}
    async with db.tenant_session(claims_for(company_a.operator)) as session:
        edited = await session.execute(
            text("update conversation_notes set body = body || '!' where id = any(:ids)"), by_id
        )
        removed = await session.execute(
            text("delete from conversation_notes where id = any(:ids) and body <> 'own!'"), by_id
        )
        # Their own note, in a chat they still see: neither the supervisor's nor the one left
        # in a chat now someone else's.
        assert (edited.rowcount, removed.rowcount) == (1, 0)  # type: ignore[attr-defined]
    for column in ("author_id", "conversation_id", "company_id"):
        with pytest.raises(DBAPIError, match="permission denied"):
            async with db.tenant_session(claims_for(company_a.operator)) as session:
                await session.execute(
                    text(f"update conversation_notes set {column} = {column} where id = :id"),
                    {"id": ids["own"]},
                )
    async with db.tenant_session(claims_for(company_a.supervisor)) as session:
        removed = await session.execute(
            text("delete from conversation_notes where id = any(:ids)"), by_id
        )
        assert removed.rowcount == 3  # type: ignore[attr-defined]


async def test_only_supervisors_and_admins_write_quick_replies(
    db: Database, company_a: CompanyGraph
) -> None:
    params = {"company": company_a.company_id}
    async with db.tenant_session(claims_for(company_a.operator)) as session:
        seen = await session.execute(text("select count(*) from quick_replies"))
        changed = await session.execute(text("update quick_replies set title = 'x'"))
        removed = await session.execute(text("delete from quick_replies"))
        assert seen.scalar_one() > 0
        assert (changed.rowcount, removed.rowcount) == (0, 0)  # type: ignore[attr-defined]
    with pytest.raises(DBAPIError, match="row-level security"):
        async with db.tenant_session(claims_for(company_a.operator)) as session:
            await session.execute(
                text(
                    "insert into quick_replies (company_id, shortcut, title, body)"
                    " values (:company, '/operador', 'Operador', 'x')"
                ),
                params,
            )
    async with db.tenant_session(claims_for(company_a.supervisor)) as session:
        added = await session.execute(
            text(
                "insert into quick_replies (company_id, shortcut, title, body)"
                " values (:company, '/supervisor', 'Supervisor', 'x') returning id"
            ),
            params,
        )
        assert added.scalar_one()
        await session.rollback()


async def test_supervisor_sees_every_conversation_of_the_company(
    db: Database, company_a: CompanyGraph
) -> None:
    seen = await _visible(
        db, claims_for(company_a.supervisor), "select id from evolution_conversations"
    )
    assert seen == {
        company_a.mine_conversation_id,
        company_a.others_conversation_id,
        company_a.unassigned_conversation_id,
    }


async def test_only_admins_manage_instances_and_users(
    db: Database, company_a: CompanyGraph
) -> None:
    for user in (company_a.operator, company_a.supervisor):
        async with db.tenant_session(claims_for(user)) as session:
            promoted = await session.execute(
                text("update profiles set role = 'admin' where id = :id"), {"id": user.id}
            )
            renamed = await session.execute(
                text("update evolution_instances set webhook_url = 'http://evil' where id = :id"),
                {"id": company_a.instance_id},
            )
            audit = await session.execute(text("select count(*) from audit_log"))
            assert (promoted.rowcount, renamed.rowcount) == (0, 0)  # type: ignore[attr-defined]
            assert audit.scalar_one() == 0
    async with db.tenant_session(claims_for(company_a.admin)) as session:
        renamed = await session.execute(
            text("update evolution_instances set webhook_url = webhook_url where id = :id"),
            {"id": company_a.instance_id},
        )
        assert renamed.rowcount == 1  # type: ignore[attr-defined]


async def test_deactivated_user_sees_nothing(db: Database, factory: Factory) -> None:
    graph = await seed_company(db, factory)
    async with db.service_session() as session:
        await session.execute(
            text("update profiles set active = false where id = :id"), {"id": graph.admin.id}
        )
    seen = await _visible(db, claims_for(graph.admin), "select id from evolution_conversations")
    assert seen == set()


async def test_without_claims_the_authenticated_role_sees_nothing(
    db: Database, company_a: CompanyGraph
) -> None:
    seen = await _visible(db, {}, "select id from contacts")
    assert seen == set()


async def test_http_admin_api_hides_other_companies(
    client: httpx.AsyncClient, company_a: CompanyGraph, company_b: CompanyGraph
) -> None:
    headers = await login(client, company_a.admin)
    listed = await client.get("/api/admin/users", headers=headers)
    assert listed.status_code == 200
    assert {user["id"] for user in listed.json()} == {
        str(u.id)
        for u in (
            company_a.admin,
            company_a.supervisor,
            company_a.operator,
            company_a.other_operator,
        )
    }
    foreign = company_b.operator.id
    patched = await client.patch(
        f"/api/admin/users/{foreign}", json={"role": "admin"}, headers=headers
    )
    assert patched.status_code == 404
    deactivated = await client.post(f"/api/admin/users/{foreign}/deactivate", headers=headers)
    assert deactivated.status_code == 404


async def test_http_admin_api_refuses_operators_and_supervisors(
    client: httpx.AsyncClient, company_a: CompanyGraph
) -> None:
    for user in (company_a.operator, company_a.supervisor):
        headers = await login(client, user)
        response = await client.get("/api/admin/users", headers=headers)
        assert response.status_code == 403
        assert response.json()["error"]["code"] == "forbidden"
