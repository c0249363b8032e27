"""GET /api/reports/conversations.csv: one row per cycle the period touches, times in the
company's zone, cells a spreadsheet would run as formulas neutralised, the same filters."""

from __future__ import annotations

import csv
import io

import httpx

from tests.conftest import Factory, login
from tests.reports.helpers import WEEK, Shop, seed_shop
from zapcrm.db import Database
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
