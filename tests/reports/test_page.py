"""The reports page: supervisors see the figures with human durations and the CSV link,
operators neither the page nor its navigation link; a bad period is shown, not crashed on."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime, timedelta

from sqlalchemy import text

from tests.reports.helpers import BRT, WEEK, Shop
from tests.web.conftest import Browser, panel_login
from zapcrm.db import Database
from zapcrm.web.templating import duration as human_duration


def figures(page: str) -> dict[str, str]:
    """Each card's figures by label (the <dt>/<dd> pairs, in page order; later labels win)."""
    pairs = re.findall(r"<dt>([^<]+)</dt><dd>([^<]+)</dd>", page)
    return dict(pairs)


def table_rows(page: str) -> list[list[str]]:
    """The per-agent table's cells."""
    body = page.split('<table class="contacts report-agents">', 1)[1].split("</table>", 1)[0]
    return [
        [cell.strip() for cell in re.findall(r"<td>([^<]*)</td>", row)]
        for row in re.findall(r"<tr>(.*?)</tr>", body, flags=re.S)
        if "<td>" in row
    ]


def test_durations_read_like_people_say_them() -> None:
    assert human_duration(None) == "—"
    assert human_duration(0) == "0 s"
    assert human_duration(44.6) == "45 s"
    assert human_duration(120) == "2 min"
    assert human_duration(150) == "2 min 30 s"
    assert human_duration(3900) == "1 h 05 min"
    assert human_duration(28800) == "8 h 00 min"
    assert human_duration(93600 + 240) == "1 d 02 h"


async def test_a_supervisor_sees_the_weeks_figures_agents_and_a_csv_link_with_the_filters(
    new_browser: Browser, db: Database, shop: Shop
) -> None:
    async with db.service_session() as session:
        await session.execute(
            text("update profiles set display_name = 'Bruno <b>Atendente</b>' where id = :id"),
            {"id": shop.bruno.id},
        )
    http = await new_browser()
    await panel_login(http, shop.supervisor)
    response = await http.get("/panel/reports", params=WEEK)
    assert response.status_code == 200, response.text
    page = response.text
    assert '<a href="/panel/reports" aria-current="page">Relatórios</a>' in page
    assert "De 01/03/2026 a 07/03/2026 (Horário de Brasília)." in page
    cards = re.findall(r"<dt>([^<]+)</dt><dd>([^<]+)</dd>", page)
    assert cards == [
        ("Iniciados", "5"),
        ("Encerrados", "4"),
        ("Ainda abertos", "2"),
        ("Mensagens recebidas", "5"),
        ("Mensagens enviadas", "5"),
        ("Média", "4 min 30 s"),
        ("Mediana", "3 min 30 s"),
        ("Percentil 90", "8 min 30 s"),
        ("Média", "3 h 07 min"),
        ("Mediana", "40 min"),
        ("Percentil 90", "8 h 00 min"),
        # Reply time: waits of 1, 2, 5, 60 and 10 minutes (the phone's reply counts).
        ("Média", "15 min 36 s"),
        ("Mediana", "5 min"),
        ("Percentil 90", "40 min"),
    ]
    assert "5 mensagens de clientes respondidas (a primeira de cada espera)." in page
    assert "4 atendimentos respondidos." in page
    assert "4 atendimentos encerrados." in page
    assert table_rows(page) == [
        ["Ana Atendente", "3", "2", "3", "2 min", "2 min"],
        ["Bruno &lt;b&gt;Atendente&lt;/b&gt;", "1", "2", "1", "5 min", "5 min"],
    ]
    assert "<b>Atendente</b>" not in page
    assert 'href="/panel/reports/conversations.csv?from=2026-03-01&amp;to=2026-03-07"' in page

    filtered = await http.get("/panel/reports", params={**WEEK, "instance_id": str(shop.filial)})
    assert filtered.status_code == 200
    assert figures(filtered.text)["Iniciados"] == "2"
    assert table_rows(filtered.text) == [["Ana Atendente", "1", "0", "1", "10 min", "10 min"]]
    link = f"conversations.csv?from=2026-03-01&amp;to=2026-03-07&amp;instance_id={shop.filial}"
    assert link in filtered.text
    assert f'<option value="{shop.filial}" selected>' in filtered.text

    download = await http.get(
        "/panel/reports/conversations.csv", params={**WEEK, "instance_id": str(shop.filial)}
    )
    assert download.status_code == 200
    records = list(csv.reader(io.StringIO(download.content.decode()[1:]), delimiter=";"))
    assert [row[0] for row in records[1:]] == [
        str(shop.conversations["c4"]),
        str(shop.conversations["c3"]),
    ]


async def test_the_period_choices_today_and_thirty_days_end_today_in_the_company_zone(
    new_browser: Browser, db: Database, shop: Shop
) -> None:
    now = datetime.now(UTC)
    today = now.astimezone(BRT).date()
    async with db.service_session() as session:
        await session.execute(
            text(
                "insert into conversation_cycles (company_id, conversation_id, started_at,"
                " closed_at) values (:c, :conversation, :at, :at)"
            ),
            {"c": shop.company_id, "conversation": shop.conversations["c1"], "at": now},
        )
    http = await new_browser()
    await panel_login(http, shop.supervisor)
    page = (await http.get("/panel/reports", params={"period": "today"})).text
    assert f'name="from" value="{today.isoformat()}"' in page
    assert f'name="to" value="{today.isoformat()}"' in page
    assert '<option value="today" selected>' in page
    assert figures(page)["Iniciados"] == "1"
    month = (await http.get("/panel/reports", params={"period": "30d"})).text
    assert f'name="from" value="{(today - timedelta(days=29)).isoformat()}"' in month
    # Without a choice the page shows the last 7 days.
    week = (await http.get("/panel/reports")).text
    assert f'name="from" value="{(today - timedelta(days=6)).isoformat()}"' in week
    assert '<option value="7d" selected>' in week


async def test_a_reversed_period_is_explained_on_the_page(new_browser: Browser, shop: Shop) -> None:
    http = await new_browser()
    await panel_login(http, shop.supervisor)
    response = await http.get(
        "/panel/reports", params={"period": "custom", "from": "2026-03-08", "to": "2026-03-01"}
    )
    assert response.status_code == 422
    assert "A data inicial não pode ser depois da final" in response.text
    assert "<h1>Relatórios</h1>" in response.text


async def test_operators_have_neither_the_page_nor_the_link(
    new_browser: Browser, shop: Shop
) -> None:
    http = await new_browser()
    await panel_login(http, shop.operator)
    home = await http.get("/panel/")
    assert home.status_code == 200
    assert "/panel/tasks" in home.text  # the navigation is there...
    assert "/panel/reports" not in home.text  # ...without the reports link
    assert (await http.get("/panel/reports")).status_code == 404
    assert (await http.get("/panel/reports/conversations.csv", params=WEEK)).status_code == 404

    supervisor = await new_browser()
    await panel_login(supervisor, shop.supervisor)
    assert 'href="/panel/reports"' in (await supervisor.get("/panel/")).text


async def test_the_page_reads_in_english_when_the_reader_chose_english(
    new_browser: Browser, shop: Shop
) -> None:
    http = await new_browser()
    await panel_login(http, shop.supervisor)
    await http.get("/panel/lang/en")
    page = (await http.get("/panel/reports", params=WEEK)).text
    assert '<a href="/panel/reports" aria-current="page">Reports</a>' in page
    assert "From 01/03/2026 to 07/03/2026 (Brasilia Time)." in page
    assert '<h2 id="first-response-title">Time to first response</h2>' in page
    assert "4 conversations answered." in page
    assert "Download CSV" in page


def day_table(page: str) -> list[list[str]]:
    """The per-day table: the day's name, then its four counts."""
    body = page.split('<table class="contacts report-days">', 1)[1].split("</table>", 1)[0]
    return [
        [name, *re.findall(r"<td>([^<]*)</td>", cells)]
        for name, cells in re.findall(r'<th scope="row">([^<]+)</th>(.*?)</tr>', body, re.S)
    ]


def heat_cells(page: str) -> dict[str, str]:
    """The heat map's cells that show a count, by tooltip, with their shade."""
    body = page.split('data-testid="heat-map"', 1)[1].split("</table>", 1)[0]
    return {
        title: f"{level}:{count}"
        for level, title, count in re.findall(
            r'<td class="heat-(\d)" title="([^"]+)">(\d+)</td>', body
        )
    }


async def test_the_days_chart_table_and_weekday_hours_show_the_weeks_traffic(
    new_browser: Browser, shop: Shop
) -> None:
    http = await new_browser()
    await panel_login(http, shop.supervisor)
    page = (await http.get("/panel/reports", params=WEEK)).text
    assert day_table(page) == [
        ["1 de mar. de 2026", "0", "1", "0", "0"],
        ["2 de mar. de 2026", "1", "1", "1", "1"],
        ["3 de mar. de 2026", "1", "1", "1", "1"],
        ["4 de mar. de 2026", "1", "1", "1", "1"],
        ["5 de mar. de 2026", "1", "0", "1", "1"],
        ["6 de mar. de 2026", "0", "0", "0", "0"],
        ["7 de mar. de 2026", "1", "0", "1", "1"],
    ]
    chart = page.split('data-testid="days-chart"', 1)[1].split("</svg>", 1)[0]
    titles = re.findall(r"<title>([^<]+)</title>", chart)
    assert len(titles) == 14  # a bar per day for the cycles started, one for those closed
    assert "2 de mar. de 2026: 1 iniciado" in titles
    assert "6 de mar. de 2026: 0 encerrados" in titles
    # Every customer message of the week is alone in its hour: all the darkest shade.
    assert heat_cells(page) == {
        "seg. 09h: 1 mensagem": "4:1",
        "ter. 10h: 1 mensagem": "4:1",
        "qua. 11h: 1 mensagem": "4:1",
        "qui. 08h: 1 mensagem": "4:1",
        "sáb. 23h: 1 mensagem": "4:1",
    }
    assert page.count('class="heat-0"') == 168 - 5

    http.cookies.set("zapcrm_lang", "en")
    english = (await http.get("/panel/reports", params=WEEK)).text
    assert day_table(english)[1] == ["Mar 2, 2026", "1", "1", "1", "1"]
    assert "Sat 23h: 1 message" in heat_cells(english)
    assert "When customers write" in english


async def test_a_week_without_customer_messages_says_so_instead_of_an_empty_map(
    new_browser: Browser, shop: Shop
) -> None:
    http = await new_browser()
    await panel_login(http, shop.supervisor)
    page = (
        await http.get("/panel/reports", params={"from": "2026-03-06", "to": "2026-03-06"})
    ).text
    assert "Nenhuma mensagem de cliente no período." in page
    assert 'data-testid="heat-map"' not in page
    assert day_table(page) == [["6 de mar. de 2026", "0", "0", "0", "0"]]


async def test_counts_of_thousands_read_with_the_pt_br_thousands_dot(
    new_browser: Browser, db: Database, shop: Shop
) -> None:
    """A busy week reads "1.205 mensagens", as a Brazilian writes it, not "1205"."""
    async with db.service_session() as session:
        await session.execute(
            text(
                "insert into evolution_messages (company_id, instance_id, conversation_id,"
                " key_id, from_me, remote_jid, type, body, message_timestamp)"
                " select c.company_id, c.instance_id, c.id, 'BULK' || n, false, c.remote_jid,"
                " 'text', 'oi', :at + n * interval '1 second'"
                " from evolution_conversations c, generate_series(1, 1200) n where c.id = :c"
            ),
            {"c": shop.conversations["c1"], "at": datetime(2026, 3, 2, 9, 10, tzinfo=BRT)},
        )
    http = await new_browser()
    await panel_login(http, shop.supervisor)
    page = (await http.get("/panel/reports", params=WEEK)).text
    assert figures(page)["Mensagens recebidas"] == "1.205"
    assert day_table(page)[1] == ["2 de mar. de 2026", "1", "1", "1.201", "1"]
    body = page.split('data-testid="heat-map"', 1)[1].split("</table>", 1)[0]
    assert re.search(r'title="seg\. 09h: [^"]+">1\.201</td>', body)
