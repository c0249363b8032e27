"""GET /api/reports/conversations.csv: one row per cycle the period touches, times in the
company's zone, cells a spreadsheet would run as formulas neutralised, the same filters."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import date
from typing import Any

import httpx
import orjson
from sqlalchemy import text

from tests.conftest import Factory, identity_of, login
from tests.reports.helpers import BRT, WEEK, Shop, seed_shop
from zapcrm.db import Database
from zapcrm.reports import service
from zapcrm.reports.export import HEADER


async def download(
    client: httpx.AsyncClient, headers: dict[str, str], **params: str
) -> list[list[str]]:
    """The CSV's records (header first), asserting a UTF-8 download with a BOM and `;`."""
    response = await client.get("/api/reports/conversations.csv", params=params, headers=headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    disposition = response.headers["content-disposition"]
    assert disposition.startswith('attachment; filename="atendimentos-')
    assert response.content.startswith("\ufeff".encode())
    assert b"\r\n" in response.content
    return list(csv.reader(io.StringIO(response.content.decode()[1:]), delimiter=";"))


async def test_one_row_per_cycle_of_the_period_with_local_times_and_seconds(
    client: httpx.AsyncClient, shop: Shop
) -> None:
    records = await download(client, await login(client, shop.supervisor), **WEEK)
    assert records[0] == list(HEADER)
    assert records[0][0] == "Conversa"
    rows = records[1:]
    c1, c2, c3, c4 = (str(shop.conversations[key]) for key in ("c1", "c2", "c3", "c4"))
    # Started the day before but closed in the period; then by start; the 8th is out.
    assert [row[0] for row in rows] == [c2, c1, c1, c2, c4, c3]
    loja = rows[1][3]
    assert loja.startswith("loja-")
    assert rows[1] == [
        c1,
        '\'=HYPERLINK("http://x")',
        "'+5511911110001",
        loja,
        "Ana Atendente",
        "02/03/2026 09:00:00",
        "02/03/2026 09:01:00",
        "02/03/2026 09:10:00",
        "60",
        "600",
        "",  # in no department
        "",  # not asked about
    ]
    assert rows[0][5:] == [
        "28/02/2026 22:00:00",
        "28/02/2026 22:01:00",
        "01/03/2026 09:00:00",
        "60",
        "39600",
        "",
        "",
    ]
    # Nobody answered nor closed, and nobody is assigned: empty cells, not zeros.
    assert rows[4][1:] == [
        "Duda",
        "'+5511911110004",
        rows[4][3],
        "",
        "05/03/2026 08:00:00",
        "",
        "",
        "",
        "",
        "",
        "",
    ]
    assert rows[4][3].startswith("filial-")


async def test_the_csv_takes_the_summarys_filters(client: httpx.AsyncClient, shop: Shop) -> None:
    headers = await login(client, shop.supervisor)
    by_instance = await download(client, headers, instance_id=str(shop.filial), **WEEK)
    assert [row[0] for row in by_instance[1:]] == [
        str(shop.conversations["c4"]),
        str(shop.conversations["c3"]),
    ]
    by_agent = await download(client, headers, agent_id=str(shop.bruno.id), **WEEK)
    assert [row[0] for row in by_agent[1:]] == [str(shop.conversations["c2"])] * 2
    assert {row[4] for row in by_agent[1:]} == {"Bruno Atendente"}
    next_day = await download(client, headers, **{"from": "2026-03-08", "to": "2026-03-08"})
    assert [(row[0], row[8]) for row in next_day[1:]] == [(str(shop.conversations["c5"]), "10")]


async def test_another_companys_cycles_are_not_exported(
    client: httpx.AsyncClient, db: Database, factory: Factory, shop: Shop
) -> None:
    other = await seed_shop(db, factory)
    records = await download(client, await login(client, other.supervisor), **WEEK)
    ours = {str(conversation) for conversation in shop.conversations.values()}
    assert len(records) == 7
    assert not ours & {row[0] for row in records[1:]}


def _nodes(plan: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield plan
    for child in plan.get("Plans", []):
        yield from _nodes(child)


async def test_the_names_are_looked_up_per_exported_cycle_not_read_from_every_chat(
    db: Database, shop: Shop
) -> None:
    # Joined as tables, how the chats were read followed the planner's estimates: over
    # 100,000 chats a 7-day export hashed them all for ~6,800 rows (bench/reports.py --period
    # 7); here, with 200 idle chats, they were looked up once per cycle and number. Each
    # exported cycle's chat is read once, by primary key, whatever the estimates.
    async with db.service_session() as session:
        await session.execute(
            text(
                "insert into evolution_conversations (company_id, instance_id, remote_jid)"
                " select :company, :instance, 'idle' || n || '@s.whatsapp.net'"
                " from generate_series(1, 200) n"
            ),
            {"company": shop.company_id, "instance": shop.loja},
        )
    identity = identity_of(shop.supervisor)
    plan = service.plan_export(
        identity, service.period_filters(BRT, date(2026, 3, 1), date(2026, 3, 7))
    )
    async with db.tenant_session(identity.claims) as session:
        connection = await session.connection()
        compiled = plan.statement.compile(dialect=connection.dialect)
        explained = await connection.exec_driver_sql(
            f"explain (analyze, format json) {compiled}", compiled.params
        )
        document = explained.scalar_one()
    root = (orjson.loads(document) if isinstance(document, str) else document)[0]["Plan"]
    exported = root["Actual Rows"]
    assert exported == 6
    chats_read = sum(
        node["Actual Rows"] * node["Actual Loops"]
        for node in _nodes(root)
        if node.get("Relation Name") == "evolution_conversations"
    )
    assert chats_read == exported
