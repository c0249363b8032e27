"""The reports page by department: the department filter (only for companies with departments),
the per-department table with its row for chats in none, names escaped, and the CSV link and
download that keep the filter.

Figures of the seeded week with departments: tests/reports/test_departments.py.
"""

from __future__ import annotations

import csv
import io
import re

from tests.conftest import Factory
from tests.reports.helpers import WEEK, seed_departments, seed_shop
from tests.reports.test_page import figures, table_rows
from tests.web.conftest import Browser, panel_login
from zapcrm.db import Database


def department_rows(page: str) -> list[list[str]]:
    """The per-department table's cells."""
    body = page.split('<table class="contacts report-departments">', 1)[1].split("</table>", 1)[0]
    return [
        [cell.strip() for cell in re.findall(r"<td>([^<]*)</td>", row)]
        for row in re.findall(r"<tr>(.*?)</tr>", body, flags=re.S)
        if "<td>" in row
    ]


def department_options(page: str) -> list[tuple[str, str]]:
    """The department filter's options (value, label), in page order."""
    select = page.split('<select name="department_id">', 1)[1].split("</select>", 1)[0]
    return re.findall(r'<option value="([^"]*)"[^>]*>([^<]*)</option>', select)


async def test_the_page_filters_by_department_and_tables_each_one_escaped(
    new_browser: Browser, db: Database, factory: Factory
) -> None:
    shop = await seed_shop(db, factory)
    bold, suporte, financeiro = await seed_departments(
        db, shop, ("<b>x</b>", "Suporte", "Financeiro")
    )
    http = await new_browser()
    await panel_login(http, shop.supervisor)
    response = await http.get("/panel/reports", params=WEEK)
    assert response.status_code == 200, response.text
    page = response.text
    # The filter lists the departments in menu order, after "all".
    assert department_options(page) == [
        ("", "Todos os setores"),
        (str(bold), "&lt;b&gt;x&lt;/b&gt;"),
        (str(suporte), "Suporte"),
        (str(financeiro), "Financeiro"),
    ]
    assert '<h2 id="departments-title">Por setor</h2>' in page
    assert department_rows(page) == [
        ["&lt;b&gt;x&lt;/b&gt;", "3", "4", "2 min", "40 min", "2 min"],
        ["Suporte", "1", "0", "10 min", "—", "10 min"],
        ["Financeiro", "0", "0", "—", "—", "—"],
        ["Sem setor", "1", "0", "—", "—", "1 h 00 min"],
    ]
    assert "<b>x</b>" not in page

    # Narrowed to one department: the cards, the agents and the table are that department's.
    narrowed = await http.get("/panel/reports", params={**WEEK, "department_id": str(bold)})
    assert narrowed.status_code == 200, narrowed.text
    assert f'<option value="{bold}" selected>' in narrowed.text
    assert figures(narrowed.text)["Iniciados"] == "3"
    assert table_rows(narrowed.text) == [
        ["Ana Atendente", "2", "2", "2", "1 min 30 s", "1 min 30 s"],
        ["Bruno Atendente", "1", "2", "1", "5 min", "5 min"],
    ]
    assert department_rows(narrowed.text) == [
        ["&lt;b&gt;x&lt;/b&gt;", "3", "4", "2 min", "40 min", "2 min"]
    ]
    link = f"conversations.csv?from=2026-03-01&amp;to=2026-03-07&amp;department_id={bold}"
    assert link in narrowed.text

    download = await http.get(
        "/panel/reports/conversations.csv", params={**WEEK, "department_id": str(bold)}
    )
    assert download.status_code == 200
    records = list(csv.reader(io.StringIO(download.content.decode()[1:]), delimiter=";"))
    setor = records[0].index("Setor")
    assert {row[setor] for row in records[1:]} == {"<b>x</b>"}  # a file, not HTML: as typed
    assert len(records) == 5


async def test_without_departments_the_page_has_neither_the_filter_nor_the_table(
    new_browser: Browser, db: Database, factory: Factory
) -> None:
    shop = await seed_shop(db, factory)
    http = await new_browser()
    await panel_login(http, shop.supervisor)
    page = (await http.get("/panel/reports", params=WEEK)).text
    assert figures(page)["Iniciados"] == "5"
    assert 'name="department_id"' not in page
    assert "report-departments" not in page
    assert "Por setor" not in page


async def test_another_companys_department_finds_nothing_and_a_malformed_one_is_refused(
    new_browser: Browser, db: Database, factory: Factory
) -> None:
    shop = await seed_shop(db, factory)
    await seed_departments(db, shop)
    other = await seed_shop(db, factory)
    foreign, _, _ = await seed_departments(db, other)
    http = await new_browser()
    await panel_login(http, shop.supervisor)
    response = await http.get("/panel/reports", params={**WEEK, "department_id": str(foreign)})
    assert response.status_code == 200
    assert figures(response.text)["Iniciados"] == "0"
    assert "report-departments" not in response.text
    assert "Nenhum atendimento no período." in response.text.split("departments-title", 1)[1]
    select = response.text.split('<select name="department_id">', 1)[1].split("</select>", 1)[0]
    assert " selected>" not in select  # none of ours is the one asked for
    download = await http.get(
        "/panel/reports/conversations.csv", params={**WEEK, "department_id": str(foreign)}
    )
    assert download.status_code == 200
    assert len(download.content.decode()[1:].strip().splitlines()) == 1  # the header alone

    for path in ("/panel/reports", "/panel/reports/conversations.csv"):
        malformed = await http.get(path, params={**WEEK, "department_id": "setor-1"})
        assert malformed.status_code == 422, path
