"""The business hours page: admins see whether the company is open now, change the week, the
closed days and the out-of-office reply (previewed), and get a refused form back as typed;
nobody else sees the page or its link."""

from __future__ import annotations

import re
import uuid
from typing import Any

import httpx

from tests.conftest import Factory
from tests.evolution.harness import rows
from tests.web.conftest import Browser, panel_login
from zapcrm.db import Database
from zapcrm.models import Role

WEEK = {
    **{f"open_{day}": "on" for day in range(1, 6)},
    **{f"opens_{day}": "09:00" for day in range(1, 8)},
    **{f"closes_{day}": "18:00" for day in range(1, 8)},
}


def form(csrf: str, **fields: Any) -> dict[str, Any]:
    """The page's form as a browser posts it: Monday to Friday 09:00-18:00, reply on."""
    return {
        "csrf_token": csrf,
        **WEEK,
        "holiday": ["2026-12-25", "", ""],
        "away_enabled": "on",
        "away_message": "Oi {{primeiro_nome}}! Voltamos {{reabertura|em breve}}.",
    } | fields


async def admin_panel(
    new_browser: Browser, factory: Factory
) -> tuple[httpx.AsyncClient, str, uuid.UUID]:
    """A browser signed in as the admin of a new company, its CSRF token and the company."""
    company = await factory.company()
    http = await new_browser()
    return http, await panel_login(http, await factory.user(company, Role.ADMIN)), company


async def test_an_admin_sets_the_week_a_holiday_and_the_reply(
    new_browser: Browser, factory: Factory, db: Database
) -> None:
    http, csrf, company = await admin_panel(new_browser, factory)
    page = await http.get("/panel/admin/hours")
    assert page.status_code == 200
    assert 'href="/panel/admin/hours" aria-current="page"' in page.text
    # The defaults: Monday to Saturday ticked, Sunday not; the reply off, its text ready.
    assert len(re.findall(r'name="open_\d" id="open-\d" checked', page.text)) == 6
    assert 'name="away_enabled">' in page.text
    assert "Como Maria Silva leria agora:" in page.text
    saved = await http.post("/panel/admin/hours", data=form(csrf))
    assert saved.status_code == 303
    assert saved.headers["location"] == "/panel/admin/hours?ok=saved"
    page = await http.get(saved.headers["location"])
    assert "Horário salvo." in page.text
    assert len(re.findall(r'name="open_\d" id="open-\d" checked', page.text)) == 5
    assert 'name="opens_1" value="09:00"' in page.text
    assert 'value="2026-12-25"' in page.text
    assert 'name="away_enabled" checked' in page.text
    assert "Oi Maria! Voltamos " in page.text  # the preview, for a sample customer
    [stored] = await rows(
        db,
        "select schedule, holidays, away_enabled from business_hours where company_id = :c",
        c=company,
    )
    assert stored["schedule"]["1"] == {"opens": "09:00", "closes": "18:00"}
    assert "6" not in stored["schedule"]
    assert [str(day) for day in stored["holidays"]] == ["2026-12-25"]
    assert stored["away_enabled"] is True


async def test_a_refused_form_comes_back_as_typed_with_the_reason_by_its_field(
    new_browser: Browser, factory: Factory
) -> None:
    http, csrf, _ = await admin_panel(new_browser, factory)
    typed = form(
        csrf,
        opens_2="19:00",
        closes_2="08:00",
        away_message="Oi {{cliente}}, voltamos logo",
    )
    refused = await http.post("/panel/admin/hours", data=typed)
    assert refused.status_code == 422
    assert 'role="alert"' in refused.text
    assert 'id="day-2-error">o horário de fechar deve ser depois do de abrir' in refused.text
    assert 'id="away_message-error">variável desconhecida: cliente' in refused.text
    # What was typed is still there to fix.
    assert 'name="opens_2" value="19:00"' in refused.text
    assert "Oi {{cliente}}, voltamos logo</textarea>" in refused.text
    assert 'value="2026-12-25"' in refused.text


async def test_a_reason_of_the_whole_form_starts_the_page_alert_with_a_capital(
    new_browser: Browser, factory: Factory
) -> None:
    """Reasons are worded as clauses ("escreva a mensagem de ausência") to fit inside a
    sentence and under a field; alone as the page's alert they read as a sentence."""
    http, csrf, _ = await admin_panel(new_browser, factory)
    refused = await http.post("/panel/admin/hours", data=form(csrf, away_message=""))
    assert refused.status_code == 422
    assert '<p class="alert" role="alert">Escreva a mensagem de ausência</p>' in refused.text


async def test_a_closed_day_added_by_hand_is_named_beside_its_date(
    new_browser: Browser, factory: Factory, db: Database
) -> None:
    http, csrf, company = await admin_panel(new_browser, factory)
    page = await http.get("/panel/admin/hours")
    # Every date box, the empty ones too, has its name box right after it.
    assert page.text.count('name="holiday"') == page.text.count('name="holiday_name"') == 3
    typed = form(
        csrf,
        holiday=["2030-12-25", "2030-01-25", "", ""],
        holiday_name=["", "Aniversário da <cidade>", "", "nome sem dia"],
    )
    saved = await http.post("/panel/admin/hours", data=typed)
    assert saved.status_code == 303, saved.text
    [stored] = await rows(
        db, "select holidays, holiday_names from business_hours where company_id = :c", c=company
    )
    assert stored["holiday_names"] == {"2030-01-25": "Aniversário da <cidade>"}
    page = await http.get("/panel/admin/hours")
    named = page.text.split('value="2030-01-25"')[1].split("</span>")[0]
    assert 'name="holiday_name" value="Aniversário da &lt;cidade&gt;"' in named
    national = page.text.split('value="2030-12-25"')[1].split("</span>")[0]
    assert 'name="holiday_name" value=""' in national
    assert national.endswith('<span class="muted holiday-name">Natal')  # the library's name
    # A refused form keeps the names typed, each by its date.
    refused = await http.post(
        "/panel/admin/hours",
        data=form(csrf, away_message="", holiday=["2030-01-25", "2030-03-19"],
                  holiday_name=["Aniversário da cidade", "São José"]),
    )  # fmt: skip
    assert refused.status_code == 422
    assert 'value="2030-03-19"' in refused.text
    assert 'name="holiday_name" value="São José"' in refused.text


async def test_a_page_opened_before_days_had_names_still_saves_its_days(
    new_browser: Browser, factory: Factory, db: Database
) -> None:
    """A form without name boxes (a page loaded before them) and a row without names."""
    http, csrf, company = await admin_panel(new_browser, factory)
    saved = await http.post("/panel/admin/hours", data=form(csrf, holiday=["2030-01-25", ""]))
    assert saved.status_code == 303, saved.text
    [stored] = await rows(
        db, "select holidays, holiday_names from business_hours where company_id = :c", c=company
    )
    assert [str(day) for day in stored["holidays"]] == ["2030-01-25"]
    assert stored["holiday_names"] == {}
    page = await http.get("/panel/admin/hours")
    assert page.status_code == 200
    assert 'value="2030-01-25"' in page.text
    assert page.text.count('name="holiday_name" value=""') == 4  # the saved day's and 3 new


async def test_only_admins_see_the_page_and_its_link(
    new_browser: Browser, factory: Factory
) -> None:
    company = await factory.company()
    for role in (Role.OPERATOR, Role.SUPERVISOR):
        http = await new_browser()
        csrf = await panel_login(http, await factory.user(company, role))
        assert (await http.get("/panel/admin/hours")).status_code == 404
        assert (await http.post("/panel/admin/hours", data=form(csrf))).status_code == 404
        admin_area = await http.get("/panel/admin/quick-replies")
        assert "/panel/admin/hours" not in admin_area.text


async def test_the_national_holidays_button_adds_them_named_and_keeps_what_was_typed(
    new_browser: Browser, factory: Factory, db: Database
) -> None:
    http, csrf, company = await admin_panel(new_browser, factory)
    # Monday's closing changed on the form, not saved yet, when the button is pressed.
    added = await http.post(
        "/panel/admin/hours", data=form(csrf, closes_1="17:00", add_national="1")
    )
    assert added.status_code == 303
    assert added.headers["location"].startswith("/panel/admin/hours?ok=holidays&added=")
    page = await http.get(added.headers["location"])
    assert re.search(r"Horário salvo, com \d+ feriados nacionais a mais\.", page.text)
    assert 'name="closes_1" value="17:00"' in page.text
    assert '<span class="muted holiday-name">Natal</span>' in page.text
    [stored] = await rows(
        db, "select cardinality(holidays) as days from business_hours where company_id = :c",
        c=company,
    )  # fmt: skip
    assert stored["days"] >= 9
    # Pressed again with the list as the page shows it: nothing new to add.
    listed = re.findall(r'name="holiday" value="(\d{4}-\d\d-\d\d)"', page.text)
    again = await http.post("/panel/admin/hours", data=form(csrf, add_national="1", holiday=listed))
    assert again.headers["location"] == "/panel/admin/hours?ok=holidays&added=0"
    page = await http.get(again.headers["location"])
    assert "Os feriados nacionais do próximo ano já estavam na lista." in page.text


async def test_closed_days_already_past_leave_the_list(
    new_browser: Browser, factory: Factory, db: Database
) -> None:
    http, csrf, company = await admin_panel(new_browser, factory)
    saved = await http.post(
        "/panel/admin/hours", data=form(csrf, holiday=["2020-12-25", "2099-12-25"])
    )
    assert saved.status_code == 303
    page = await http.get("/panel/admin/hours")
    assert 'value="2099-12-25"' in page.text
    assert 'value="2020-12-25"' not in page.text  # it changes nothing any more
    # The next save keeps what the page shows.
    await http.post("/panel/admin/hours", data=form(csrf, holiday=["2099-12-25"]))
    [stored] = await rows(
        db, "select holidays from business_hours where company_id = :c", c=company
    )
    assert [str(day) for day in stored["holidays"]] == ["2099-12-25"]


async def test_a_lunch_break_is_set_by_day_and_a_half_filled_one_comes_back_explained(
    new_browser: Browser, factory: Factory, db: Database
) -> None:
    http, csrf, company = await admin_panel(new_browser, factory)
    page = await http.get("/panel/admin/hours")
    assert 'name="break_from_1" value=""' in page.text
    saved = await http.post(
        "/panel/admin/hours", data=form(csrf, break_from_1="12:00", break_until_1="13:00")
    )
    assert saved.status_code == 303
    [stored] = await rows(
        db, "select schedule from business_hours where company_id = :c", c=company
    )
    assert stored["schedule"]["1"] == {
        "opens": "09:00",
        "closes": "18:00",
        "break_from": "12:00",
        "break_until": "13:00",
    }
    assert stored["schedule"]["2"] == {"opens": "09:00", "closes": "18:00"}
    page = await http.get("/panel/admin/hours")
    assert 'name="break_from_1" value="12:00"' in page.text
    assert 'name="break_until_1" value="13:00"' in page.text

    refused = await http.post("/panel/admin/hours", data=form(csrf, break_from_3="12:00"))
    assert refused.status_code == 422
    assert 'id="day-3-error">diga quando o intervalo começa e quando termina' in refused.text
    assert 'name="break_from_3" value="12:00"' in refused.text
