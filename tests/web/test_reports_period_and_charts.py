"""The reports page as a supervisor reads it: a refused period stays in the form as typed with
its reason by the refused date, a one-day period reads as that day, and the charts' tooltips
and scales write numbers as the rest of the page does ("1.234", not "1234").

The seeded week and its figures: tests/reports/helpers.py and tests/reports/test_page.py.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

from sqlalchemy import text

from tests.conftest import Factory
from tests.reports.helpers import BRT, WEEK, brt, seed_shop
from tests.web.conftest import Browser, panel_login
from zapcrm.db import Database


def date_input(page: str, name: str) -> str:
    """The whole <input type="date"> tag of the filter form's `name` field."""
    found = re.search(rf'<input type="date" name="{name}"[^>]*>', page)
    assert found, page
    return found.group(0)


def svg_of(page: str, testid: str) -> str:
    """One chart's SVG."""
    return page.split(f'data-testid="{testid}"', 1)[1].split("</svg>", 1)[0]


async def test_a_refused_period_stays_as_typed_with_the_reason_by_the_refused_date(
    new_browser: Browser, db: Database, factory: Factory
) -> None:
    """The dates typed are not swapped for the default week: the reader corrects them."""
    shop = await seed_shop(db, factory)
    http = await new_browser()
    await panel_login(http, shop.supervisor)
    reversed_period = {"period": "custom", "from": "2026-03-08", "to": "2026-03-01"}
    response = await http.get("/panel/reports", params=reversed_period)
    assert response.status_code == 422
    page = response.text
    start, end = date_input(page, "from"), date_input(page, "to")
    assert 'value="2026-03-08"' in start
    assert 'aria-invalid="true" aria-describedby="period-error"' in start
    assert 'value="2026-03-01"' in end
    assert "aria-invalid" not in end
    assert '<option value="custom" selected>' in page
    alert = re.search(r'<p class="[^"]*" id="period-error" role="alert">([^<]+)</p>', page)
    assert alert, page
    assert alert.group(1) == (
        "A data inicial não pode ser depois da final. Os números abaixo são dos últimos 7 dias."
    )

    too_long = {"from": "2025-01-01", "to": "2026-03-07"}
    page = (await http.get("/panel/reports", params=too_long)).text
    start, end = date_input(page, "from"), date_input(page, "to")
    assert 'value="2025-01-01"' in start
    assert "aria-invalid" not in start
    assert 'value="2026-03-07"' in end
    assert 'aria-invalid="true" aria-describedby="period-error"' in end
    assert "O período pode ter no máximo 366 dias." in page

    # Typed markup stays text.
    odd = await http.get("/panel/reports", params={"from": '"><b>x', "to": "2026-03-07"})
    assert odd.status_code == 422
    assert 'value="&#34;&gt;&lt;b&gt;x"' in date_input(odd.text, "from")
    assert "<b>x" not in odd.text

    # An accepted period fills the form with what was reported, as before.
    week = (await http.get("/panel/reports", params=WEEK)).text
    assert 'value="2026-03-01"' in date_input(week, "from")
    assert 'id="period-error"' not in week
    assert "aria-invalid" not in week


async def test_a_one_day_period_reads_as_that_day(
    new_browser: Browser, db: Database, factory: Factory
) -> None:
    shop = await seed_shop(db, factory)
    http = await new_browser()
    await panel_login(http, shop.supervisor)
    one_day = {"from": "2026-03-06", "to": "2026-03-06"}
    page = (await http.get("/panel/reports", params=one_day)).text
    assert "Em 06/03/2026 (Horário de Brasília). Cada tempo é medido por ciclo" in page
    assert "De 06/03/2026 a 06/03/2026" not in page
    today = datetime.now(UTC).astimezone(BRT).date().strftime("%d/%m/%Y")
    assert (
        f"Em {today} (Horário de Brasília)."
        in (await http.get("/panel/reports", params={"period": "today"})).text
    )
    week = (await http.get("/panel/reports", params=WEEK)).text
    assert "De 01/03/2026 a 07/03/2026 (Horário de Brasília)." in week


async def test_chart_tooltips_and_scales_write_thousands_with_the_pt_br_dot(
    new_browser: Browser, db: Database, factory: Factory
) -> None:
    """A busy Monday: 1.234 more cycles, each answered the survey with a 5, and 1.200 more
    customer messages at 09h; the tooltips say "1.235 iniciados", not "1235 iniciados"."""
    shop = await seed_shop(db, factory)
    conversation = shop.conversations["c1"]
    async with db.service_session() as session:
        await session.execute(
            text(
                "insert into conversation_cycles (company_id, conversation_id, started_at,"
                " closed_at, survey_sent_at, rating, rated_at)"
                " select :c, :conversation, :at + n * interval '1 second',"
                " :at + n * interval '1 second', :at + n * interval '1 second', 5,"
                " :at + n * interval '2 second'"
                " from generate_series(1, 1234) n"
            ),
            {"c": shop.company_id, "conversation": conversation, "at": brt(2, 12)},
        )
        await session.execute(
            text(
                "insert into evolution_messages (company_id, instance_id, conversation_id,"
                " key_id, from_me, remote_jid, type, body, message_timestamp)"
                " select c.company_id, c.instance_id, c.id, 'BULK' || n, false, c.remote_jid,"
                " 'text', 'oi', :at + n * interval '1 second'"
                " from evolution_conversations c, generate_series(1, 1200) n where c.id = :c"
            ),
            {"c": conversation, "at": brt(2, 9, 10)},
        )
    http = await new_browser()
    await panel_login(http, shop.supervisor)
    page = (await http.get("/panel/reports", params=WEEK)).text

    days = svg_of(page, "days-chart")
    titles = re.findall(r"<title>([^<]+)</title>", days)
    assert "2 de mar. de 2026: 1.235 iniciados" in titles
    assert "2 de mar. de 2026: 1.235 encerrados" in titles
    assert "3 de mar. de 2026: 1 iniciado" in titles  # the singular stays
    scale = re.findall(r'<text class="scale"[^>]*>([^<]+)</text>', days)
    assert scale == ["0", "1.000", "2.000"]

    grades = svg_of(page, "grades-chart")
    assert "Nota 5: 1.234 respostas" in re.findall(r"<title>([^<]+)</title>", grades)
    assert re.findall(r'<text class="scale"[^>]*>([^<]+)</text>', grades)[-1] == "2.000"

    heat = page.split('data-testid="heat-map"', 1)[1].split("</table>", 1)[0]
    assert 'title="seg. 09h: 1.201 mensagens">1.201</td>' in heat
