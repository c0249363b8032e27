"""Message search on 1,000,000 messages of one company: p50/p95 of a rare word (an order
number), a common word, two words typed halfway and an operator's search (RLS limits it to
their chats and the unassigned ones) through the real service (tenant transaction, RLS,
snippets), next to the same full-text match counted by bare psycopg as the table owner (no RLS,
no ordering, no snippets) and an unindexed ILIKE scan of the same messages, in one run.

    .venv/bin/python -m bench.message_search [--messages 1000000] [--runs 100]

Creates a throwaway migrated database (bench/_scratch.py), seeds 20,000 chats and the messages
by set-based SQL (customer-service sentences in Portuguese with order numbers, a year of
timestamps), VACUUM ANALYZE, measures, and drops the database. The issues set no speed goal
for this search; the figure is here so a change that slows it shows. A (company, time) index
for "newest first" was tried: the planner cannot tell a rare prefix from a common one (it
guesses the same row count for both), picked it for an order number and took 15.7 s.
"""

from __future__ import annotations

import argparse
import asyncio
import time
import uuid
from typing import Any

import psycopg

from bench._scratch import Runner, percentile, scratch_database, timed
from bench._scratch import identity as bench_identity
from zapcrm.auth.identity import Identity
from zapcrm.config import load_settings
from zapcrm.db import Database
from zapcrm.messaging.service import search
from zapcrm.models import Role

CHATS = 20_000
SENTENCES = [
    "Oi, bom dia! Meu pedido #{n} ainda não chegou",
    "Boa tarde, vocês entregam no bairro {place}?",
    "Qual o prazo de entrega para {place}?",
    "Pode me mandar a nota fiscal do pedido {n}?",
    "Já fiz o pix, segue o comprovante",
    "Obrigada pelo atendimento!",
    "Vocês têm esse modelo em outra cor?",
    "Quero trocar o tamanho, ficou pequeno",
    "O boleto venceu, consegue gerar outro?",
    "Olá! Seu pedido {n} saiu para entrega hoje",
    "Estamos verificando com a transportadora, um momento por favor",
    "Qual o valor do frete para o CEP {n}?",
    "Tem desconto à vista no cartão?",
    "Bom dia, o rastreio não atualiza desde sexta",
    "Perfeito, muito obrigado!",
    "Consigo retirar na loja amanhã de manhã?",
    "A cafeteira veio com defeito, como faço a devolução?",
    "Vocês abrem no sábado? Até que horas?",
    "Segue a foto do produto que chegou quebrado",
    "Posso parcelar em quantas vezes sem juros?",
]
PLACES = ["Méier", "Tijuca", "Copacabana", "Pinheiros", "Savassi", "Boa Viagem", "Moinhos"]


def seed(url: str, count: int) -> tuple[uuid.UUID, uuid.UUID, uuid.UUID]:
    """The company, a supervisor, an operator holding a tenth of the chats, and the messages."""
    with psycopg.connect(url, autocommit=True) as connection:
        company = connection.execute(
            "insert into companies (name) values ('Bench Messages') returning id"
        ).fetchone()
        assert company is not None
        company_id: uuid.UUID = company[0]
        users = []
        for role in ("supervisor", "operator"):
            user = connection.execute(
                "insert into auth.users (email) values (%s) returning id", (f"{role}@bench.local",)
            ).fetchone()
            assert user is not None
            connection.execute(
                "insert into profiles (id, company_id, role, email) values (%s, %s, %s, %s)",
                (user[0], company_id, role, f"{role}@bench.local"),
            )
            users.append(user[0])
        instance = connection.execute(
            "insert into evolution_instances (company_id, external_id, server_url, api_key_hash)"
            " values (%s, 'bench', 'http://127.0.0.1:1', repeat('0', 64)) returning id",
            (company_id,),
        ).fetchone()
        assert instance is not None
        started = time.perf_counter()
        # A tenth of the chats are the operator's, a tenth unassigned, the rest colleagues'.
        connection.execute(
            "insert into evolution_conversations (company_id, instance_id, remote_jid,"
            " assignee_id, status)"
            " select %(c)s, %(i)s, '55119' || lpad(g::text, 8, '0') || '@s.whatsapp.net',"
            "  case when g %% 10 = 0 then %(operator)s when g %% 10 = 1 then null"
            "  else %(supervisor)s end, 'closed'"
            " from generate_series(1, %(chats)s) g",
            {"c": company_id, "i": instance[0], "operator": users[1], "supervisor": users[0],
             "chats": CHATS},
        )  # fmt: skip
        connection.execute(
            "create temp table chat_ids as"
            " select row_number() over () as n, id, remote_jid from evolution_conversations"
        )
        connection.execute(
            "insert into evolution_messages (company_id, instance_id, conversation_id, key_id,"
            " from_me, remote_jid, type, body, status, message_timestamp)"
            " select %(c)s, %(i)s, chat.id, 'BENCH' || g, g %% 2 = 0, chat.remote_jid, 'text',"
            "  replace(replace((%(sentences)s::text[])[1 + g %% %(count)s], '{n}',"
            "   (1000 + (g * 7919) %% 900000)::text),"
            "   '{place}', (%(places)s::text[])[1 + g %% %(places_count)s]),"
            "  'READ', now() - make_interval(secs => (g * 31.0) %% 31536000)"
            " from generate_series(1::bigint, %(messages)s) g"
            " join chat_ids chat on chat.n = 1 + (g * 104729) %% %(chats)s",
            {"c": company_id, "i": instance[0], "sentences": SENTENCES,
             "count": len(SENTENCES), "places": PLACES, "places_count": len(PLACES),
             "messages": count, "chats": CHATS},
        )  # fmt: skip
        print(f"seeded {count} messages in {CHATS} chats in {time.perf_counter() - started:.1f} s")
        started = time.perf_counter()
        connection.execute("vacuum analyze evolution_messages")
        connection.execute("vacuum analyze evolution_conversations")
        print(f"vacuum analyze in {time.perf_counter() - started:.1f} s")
    return company_id, users[0], users[1]


def _service(db: Database, identity: Identity, typed: str) -> Runner:
    async def run() -> int:
        async with db.tenant_session(identity.claims) as session:
            page = await search.search_messages(
                session, identity, typed, instance_id=None, cursor=None, limit=20
            )
        return len(page.items)

    return run


def _bare(connection: psycopg.AsyncConnection[Any], typed: str) -> Runner:
    query = search.text_query(typed)

    async def run() -> int:
        cursor = await connection.execute(
            "select count(*) from evolution_messages m where"
            " app.message_search_vector(m.body, m.message_payload ->> 'caption')"
            " @@ to_tsquery('app.message_search', %s)",
            (query,),
        )
        row = await cursor.fetchone()
        return int(row[0]) if row else 0

    return run


def _ilike(connection: psycopg.AsyncConnection[Any], word: str) -> Runner:
    async def run() -> int:
        cursor = await connection.execute(
            "select m.id from evolution_messages m where m.body ilike %s"
            " order by m.message_timestamp desc, m.id desc limit 20",
            (f"%{word}%",),
        )
        return len(await cursor.fetchall())

    return run


def _figures(timings: list[float]) -> str:
    return f"{percentile(timings, 0.5):8.1f} {percentile(timings, 0.95):8.1f}"


async def _run(url: str, count: int, runs: int) -> None:
    company_id, supervisor_id, operator_id = seed(url, count)
    settings = load_settings(environment="test", database_url=url)
    db = Database.from_settings(settings, pool_size=2)

    supervisor = bench_identity(company_id, supervisor_id, Role.SUPERVISOR)
    operator = bench_identity(company_id, operator_id, Role.OPERATOR)
    rare = f"{1000 + (12340 * 7919) % 900000}"  # the order number in message 12340
    cases = [
        ("rare word (an order number)", supervisor, rare),
        ("common word (pedido)", supervisor, "pedido"),
        ("two words typed halfway (nota fisc)", supervisor, "nota fisc"),
        ("operator, common word (entrega)", operator, "entrega"),
    ]
    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as raw:
        print(f"{'':40} {'hits':>8} {'p50 ms':>8} {'p95 ms':>8}")
        for label, who, typed in cases:
            service_run = _service(db, who, typed)
            await timed(service_run, 3)  # warm the pool and the caches
            timings = await timed(service_run, runs)
            hits = await _bare(raw, typed)()
            bare = await timed(_bare(raw, typed), max(1, runs // 4))
            print(f"{label:40} {hits:8d} {_figures(timings)}   service (20 hits, RLS, snippets)")
            print(f"{'':40} {'':8} {_figures(bare)}   baseline: bare indexed count, no RLS")
        scan = await timed(_ilike(raw, "pedido"), 3)
        label = "unindexed ILIKE scan, newest 20 (pedido)"
        print(f"{label:40} {'':8} {_figures(scan)}   baseline: without the index")
    await db.dispose()


def main() -> None:
    """Parse arguments, seed a scratch database and measure."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=100)
    args = parser.parse_args()
    with scratch_database() as url:
        asyncio.run(_run(url, args.messages, args.runs))


if __name__ == "__main__":
    main()
