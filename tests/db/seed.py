"""A full graph of tenant rows for one company, written as the service role would."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import text

from tests.conftest import Factory, UserFixture
from zapcrm.db import Database
from zapcrm.models import Role


@dataclass(frozen=True)
class CompanyGraph:
    """Ids of one row (or more) in every tenant table of a company."""

    company_id: uuid.UUID
    admin: UserFixture
    supervisor: UserFixture
    operator: UserFixture
    other_operator: UserFixture
    instance_id: uuid.UUID
    contact_id: uuid.UUID
    mine_conversation_id: uuid.UUID
    others_conversation_id: uuid.UUID
    unassigned_conversation_id: uuid.UUID
    segment_id: uuid.UUID
    list_id: uuid.UUID
    campaign_id: uuid.UUID


async def seed_company(db: Database, factory: Factory) -> CompanyGraph:
    """Create a company with users, an instance, contacts, conversations and the rest."""
    company_id = await factory.company()
    admin = await factory.user(company_id, Role.ADMIN)
    supervisor = await factory.user(company_id, Role.SUPERVISOR)
    operator = await factory.user(company_id, Role.OPERATOR)
    other = await factory.user(company_id, Role.OPERATOR)
    params = {"company": company_id, "operator": operator.id, "other": other.id}
    async with db.service_session() as session:

        async def one(sql: str) -> uuid.UUID:
            value: uuid.UUID = (await session.execute(text(sql), params)).scalar_one()
            return value

        instance_id = await one(
            "insert into evolution_instances (company_id, external_id, server_url, api_key_hash)"
            " values (:company, 'inst-' || gen_random_uuid(), 'http://evo.test', repeat('a', 64))"
            " returning id"
        )
        params["instance"] = instance_id
        contact_id = await one(
            "insert into contacts (company_id, name, phone_e164) values"
            " (:company, 'Maria', '+5511987654321') returning id"
        )
        params["contact"] = contact_id
        await one(
            "insert into contact_identities (company_id, contact_id, kind, value) values"
            " (:company, :contact, 'phone', '5511987654321') returning id"
        )
        conversations = {}
        for label, assignee in (("mine", ":operator"), ("others", ":other"), ("free", "null")):
            conversations[label] = await one(
                "insert into evolution_conversations"
                " (company_id, instance_id, remote_jid, contact_id, assignee_id) values"
                f" (:company, :instance, '{label}-' || gen_random_uuid() || '@s.whatsapp.net',"
                f" :contact, {assignee}) returning id"
            )
            params["conversation"] = conversations[label]
            await one(
                "insert into evolution_messages (company_id, instance_id, conversation_id,"
                " key_id, from_me, remote_jid, type, body, message_timestamp) values"
                " (:company, :instance, :conversation, 'KEY' || gen_random_uuid(), false,"
                " 'x@s.whatsapp.net', 'text', 'olá', now()) returning id"
            )
            await one(
                "insert into conversation_cycles (company_id, conversation_id, started_at)"
                " values (:company, :conversation, now()) returning id"
            )
            await one(
                "insert into conversation_notes (company_id, conversation_id, author_id, body)"
                " values (:company, :conversation, :operator, 'nota interna') returning id"
            )
        await one(
            "insert into evolution_pending_updates (company_id, instance_id, key_id, kind,"
            " payload) values (:company, :instance, 'LATE', 'status', '{}') returning id"
        )
        params["segment"] = await one(
            "insert into segments (company_id, name) values (:company, 'VIP') returning id"
        )
        await one(
            "insert into segment_members (segment_id, contact_id, company_id)"
            " values (:segment, :contact, :company) returning segment_id"
        )
        params["list"] = await one(
            "insert into segments (company_id, name, kind)"
            " values (:company, 'Novos', 'static') returning id"
        )
        await one(
            "insert into list_rules (company_id, segment_id, name, filter) values"
            " (:company, :list, 'Vindos do site',"
            ' \'{"field": "source", "operator": "equals", "value": "site"}\')'
            " returning id"
        )
        await one(
            "insert into contact_attributes (company_id, key, label, type)"
            " values (:company, 'cpf', 'CPF', 'text') returning id"
        )
        await one(
            "insert into funnel_stages (company_id, key, label)"
            " values (:company, 'lead', 'Lead') returning id"
        )
        await one(
            "insert into contact_events (company_id, contact_id, kind)"
            " values (:company, :contact, 'created') returning id"
        )
        await one(
            "insert into quick_replies (company_id, shortcut, title, body)"
            " values (:company, '/frete', 'Frete', 'Frete grátis acima de R$ 100') returning id"
        )
        await one(
            "insert into import_jobs (company_id, created_by, file_name) values"
            " (:company, :operator, 'contatos.csv') returning id"
        )
        await one(
            "insert into user_invites (company_id, user_id, email, role, token_hash, expires_at)"
            " values (:company, :operator, 'convidada@exemplo.com', 'operator',"
            " encode(sha256(gen_random_uuid()::text::bytea), 'hex'), now() + interval '1 day')"
            " returning id"
        )
        params["campaign"] = await one(
            "insert into campaigns (company_id, instance_id, name, variants, created_by) values"
            " (:company, :instance, 'Promoção', array['Olá {{primeiro_nome}}!'], :operator)"
            " returning id"
        )
        await one(
            "insert into campaign_recipients (company_id, campaign_id, contact_id, position)"
            " values (:company, :campaign, :contact, 1) returning id"
        )
        await one(
            "insert into tasks (company_id, title, assignee_id) values"
            " (:company, 'Ligar para Maria', :operator) returning id"
        )
        await session.execute(
            text(
                "insert into outbox (company_id, stream, payload) values"
                " (:company, 'evolution:incoming-messages', '{}')"
            ),
            params,
        )
        await session.execute(
            text("insert into business_hours (company_id, away_enabled) values (:company, true)"),
            params,
        )
        await session.execute(
            text("insert into distribution_settings (company_id, enabled) values (:company, true)"),
            params,
        )
        await session.execute(
            text(
                "insert into scheduled_messages (company_id, conversation_id, created_by, body,"
                " send_at) values (:company, :free, :operator, 'Lembrete',"
                " now() + interval '1 day')"
            ),
            {**params, "free": conversations["free"]},
        )
        department = await one(
            "insert into departments (company_id, name) values (:company, 'Vendas') returning id"
        )
        await session.execute(
            text(
                "insert into department_members (company_id, department_id, user_id)"
                " values (:company, :department, :operator)"
            ),
            {**params, "department": department},
        )
        await session.execute(
            text(
                "insert into department_menus (company_id, enabled, greeting)"
                " values (:company, true, 'Escolha um setor')"
            ),
            params,
        )
        await session.execute(
            text(
                "insert into satisfaction_surveys (company_id, enabled, question, thanks)"
                " values (:company, true, 'Nota de 1 a 5?', 'Obrigado!')"
            ),
            params,
        )
        await session.execute(
            text(
                "insert into agent_availability (company_id, user_id, accepting)"
                " values (:company, :operator, true)"
            ),
            params,
        )
        await session.execute(
            text(
                "insert into audit_log (company_id, actor_id, action, target_type) values"
                " (:company, :operator, 'test.seeded', 'company')"
            ),
            params,
        )
    return CompanyGraph(
        company_id=company_id,
        admin=admin,
        supervisor=supervisor,
        operator=operator,
        other_operator=other,
        instance_id=instance_id,
        contact_id=contact_id,
        mine_conversation_id=conversations["mine"],
        others_conversation_id=conversations["others"],
        unassigned_conversation_id=conversations["free"],
        segment_id=params["segment"],
        list_id=params["list"],
        campaign_id=params["campaign"],
    )
