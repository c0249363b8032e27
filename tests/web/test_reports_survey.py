"""The reports page's customer satisfaction: the survey's cards with CSAT explained, the grades
chart, the survey columns of the per-agent and per-department tables, and, for a period with
no question sent, a line saying how to switch the survey on instead of zeros.

Figures of the seeded week's ratings: tests/reports/test_satisfaction.py.
"""

from __future__ import annotations

import re

from sqlalchemy import text

from tests.conftest import Factory
from tests.reports.helpers import WEEK, seed_departments, seed_ratings, seed_shop
from tests.reports.test_page import figures, table_rows
from tests.web.conftest import Browser, panel_login
from tests.web.test_reports_departments import department_rows
from zapcrm.db import Database
from zapcrm.models import Role

EMPTY = "Nenhuma pesquisa de satisfação foi enviada no período."
CSAT_HINT = "CSAT: a parcela das respostas com nota 4 ou 5, a definição usual do mercado."


def satisfaction_card(page: str) -> str:
    """The satisfaction card's HTML."""
    return page.split('data-testid="satisfaction"', 1)[1].split("</section>", 1)[0]


async def test_the_weeks_survey_is_shown_as_cards_grades_and_table_columns(
    new_browser: Browser, db: Database, factory: Factory
) -> None:
    shop = await seed_shop(db, factory)
    await seed_ratings(db, shop)
    await seed_departments(db, shop)
    http = await new_browser()
    await panel_login(http, shop.supervisor)
    response = await http.get("/panel/reports", params=WEEK)
    assert response.status_code == 200, response.text
    page = response.text
    card = satisfaction_card(page)
    assert '<h2 id="satisfaction-title">Satisfação dos clientes</h2>' in card
    # One decimal for the mean, whole percentages, written the Brazilian way.
    assert figures(card) == {
        "Pesquisas enviadas": "4",
        "Respostas": "3",
        "Taxa de resposta": "75%",
        "Nota média": "3,7",
        "CSAT": "67%",
    }
    assert f'<div title="{CSAT_HINT}"><dt>CSAT</dt>' in card
    assert CSAT_HINT in card.split('<p class="muted">', 1)[1]
    assert EMPTY not in page
    chart = card.split('data-testid="grades-chart"', 1)[1].split("</svg>", 1)[0]
    assert re.findall(r"<title>([^<]+)</title>", chart) == [
        "Nota 1: 0 respostas",
        "Nota 2: 1 resposta",
        "Nota 3: 0 respostas",
        "Nota 4: 1 resposta",
        "Nota 5: 1 resposta",
    ]
    # The same counts as numbers, for those who do not hover.
    grades = card.split('<table class="contacts report-grades">', 1)[1].split("</table>", 1)[0]
    assert re.findall(r"<td>(\d+)</td>", grades) == ["0", "1", "0", "1", "1"]
    # The tables gain answers, mean and CSAT after their columns.
    assert table_rows(page) == [
        ["Ana Atendente", "3", "2", "3", "2 min", "2 min", "2", "3,0", "50%"],
        ["Bruno Atendente", "1", "2", "1", "5 min", "5 min", "1", "5,0", "100%"],
    ]
    assert department_rows(page) == [
        ["Vendas", "3", "4", "2 min", "40 min", "2 min", "3", "3,7", "67%"],
        ["Suporte", "1", "0", "10 min", "—", "10 min", "0", "—", "—"],
        ["Financeiro", "0", "0", "—", "—", "—", "0", "—", "—"],
        ["Sem setor", "1", "0", "—", "—", "1 h 00 min", "0", "—", "—"],
    ]

    # The filters apply: Ana's report has her two grades only.
    ana = (await http.get("/panel/reports", params={**WEEK, "agent_id": str(shop.ana.id)})).text
    assert figures(satisfaction_card(ana)) == {
        "Pesquisas enviadas": "2",
        "Respostas": "2",
        "Taxa de resposta": "100%",
        "Nota média": "3,0",
        "CSAT": "50%",
    }


async def test_asked_but_unanswered_shows_the_questions_and_no_chart(
    new_browser: Browser, db: Database, factory: Factory
) -> None:
    shop = await seed_shop(db, factory)
    await seed_ratings(db, shop)
    http = await new_browser()
    await panel_login(http, shop.supervisor)
    fourth = {"from": "2026-03-04", "to": "2026-03-04"}
    card = satisfaction_card((await http.get("/panel/reports", params=fourth)).text)
    assert figures(card) == {
        "Pesquisas enviadas": "1",
        "Respostas": "0",
        "Taxa de resposta": "0%",
        "Nota média": "—",
        "CSAT": "—",
    }
    assert 'data-testid="grades-chart"' not in card
    assert "report-grades" not in card


async def test_a_period_without_questions_says_how_to_switch_the_survey_on(
    new_browser: Browser, db: Database, factory: Factory
) -> None:
    shop = await seed_shop(db, factory)
    supervisor = await new_browser()
    await panel_login(supervisor, shop.supervisor)
    page = (await supervisor.get("/panel/reports", params=WEEK)).text
    card = satisfaction_card(page)
    assert EMPTY in card
    assert "peça a um administrador que ative a pesquisa de satisfação" in card
    assert "/panel/admin/survey" not in card  # not a page a supervisor may open
    assert "<dt>" not in card  # no zeros
    assert "Avaliações" not in page  # nor columns of them in the tables

    admin = await new_browser()
    await panel_login(admin, await factory.user(shop.company_id, Role.ADMIN))
    card = satisfaction_card((await admin.get("/panel/reports", params=WEEK)).text)
    assert EMPTY in card
    assert '<a href="/panel/admin/survey">Ativar a pesquisa de satisfação</a>' in card

    # Switched on, but nobody asked in the period: nothing to switch on.
    async with db.service_session() as session:
        await session.execute(
            text(
                "insert into satisfaction_surveys (company_id, enabled, question, thanks)"
                " values (:c, true, 'Nota de 1 a 5?', 'Obrigado!')"
            ),
            {"c": shop.company_id},
        )
    card = satisfaction_card((await admin.get("/panel/reports", params=WEEK)).text)
    assert EMPTY in card
    assert "Ela é enviada ao cliente quando alguém encerra uma conversa que atendeu." in card
    assert "/panel/admin/survey" not in card
