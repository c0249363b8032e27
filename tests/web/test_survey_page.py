"""The satisfaction survey page: admins see it off with the default texts, turn it on with
their own question and thanks (previewed as a sample customer reads them), get a refused form
back as typed with the reason by its field, and the save reaches the process's copy of the
survey at once; nobody else finds the page or its link, and a post without the CSRF token
changes nothing."""

from __future__ import annotations

import html
import uuid

import httpx
from fastapi import FastAPI

from tests.conftest import Factory
from tests.evolution.harness import rows
from tests.web.conftest import Browser, panel_login
from zapcrm.db import Database
from zapcrm.models import Role
from zapcrm.runtime import Runtime
from zapcrm.surveys.schemas import DEFAULT_QUESTION, DEFAULT_THANKS

PAGE = "/panel/admin/survey"
QUESTION = "{{primeiro_nome|Cliente}}, que nota você dá ao nosso *atendimento*? De 1 a 5."
THANKS = "Valeu, {{primeiro_nome|cliente}}!"


async def admin_panel(
    new_browser: Browser, factory: Factory
) -> tuple[httpx.AsyncClient, str, uuid.UUID]:
    """A browser signed in as the admin of a new company, its CSRF token and the company."""
    company = await factory.company()
    http = await new_browser()
    return http, await panel_login(http, await factory.user(company, Role.ADMIN)), company


async def stored(db: Database, company: uuid.UUID) -> list[dict[str, object]]:
    return await rows(
        db,
        "select enabled, question, thanks from satisfaction_surveys where company_id = :c",
        c=company,
    )


def runtime_of(app: FastAPI) -> Runtime:
    runtime: Runtime = app.state.runtime
    return runtime


async def test_an_admin_sees_it_off_with_the_default_texts_and_turns_it_on(
    new_browser: Browser, factory: Factory, db: Database
) -> None:
    http, csrf, company = await admin_panel(new_browser, factory)
    page = await http.get(PAGE)
    assert page.status_code == 200
    assert f'href="{PAGE}" aria-current="page"' in page.text
    assert '<span class="pill">Desligada</span>' in page.text
    assert 'name="enabled">' in page.text
    assert f">{html.escape(DEFAULT_QUESTION)}</textarea>" in page.text
    assert f">{html.escape(DEFAULT_THANKS)}</textarea>" in page.text
    # What happens, said on the page.
    assert "em até 24 h avalia o atendimento" in page.text
    assert "encerradas automaticamente" in page.text
    # The preview: the sample customer's first name in the thanks, WhatsApp's bold shown.
    assert "Ao encerrar a conversa, para Maria Souza:" in page.text
    assert "<strong>1</strong> (muito insatisfeito)" in page.text
    assert '<p class="preview-text">Obrigado pela avaliação, Maria!' in page.text

    saved = await http.post(
        PAGE,
        data={"csrf_token": csrf, "enabled": "on", "question": f" {QUESTION} ", "thanks": THANKS},
    )
    assert (saved.status_code, saved.headers["location"]) == (303, f"{PAGE}?ok=saved")
    assert await stored(db, company) == [{"enabled": True, "question": QUESTION, "thanks": THANKS}]
    page = await http.get(saved.headers["location"])
    assert "Pesquisa salva." in page.text
    assert '<span class="pill hours-open">Ligada</span>' in page.text
    assert 'name="enabled" checked>' in page.text
    assert f">{html.escape(QUESTION)}</textarea>" in page.text
    assert (
        '<p class="preview-text">Maria, que nota você dá ao nosso <strong>atendimento</strong>?'
        in page.text
    )
    [audit] = await rows(
        db, "select action from audit_log where company_id = :c and action = 'survey.changed'",
        c=company,
    )  # fmt: skip
    assert audit["action"] == "survey.changed"

    turned_off = await http.post(
        PAGE, data={"csrf_token": csrf, "question": QUESTION, "thanks": THANKS}
    )
    assert turned_off.status_code == 303
    assert [row["enabled"] for row in await stored(db, company)] == [False]
    assert '<span class="pill">Desligada</span>' in (await http.get(PAGE)).text


async def test_a_bad_variable_is_refused_by_its_field_and_the_typed_text_is_kept(
    new_browser: Browser, factory: Factory, db: Database
) -> None:
    http, csrf, company = await admin_panel(new_browser, factory)
    typed = {
        "csrf_token": csrf,
        "enabled": "on",
        "question": "Nota de 1 a 5, {{nomee}}?",
        "thanks": "Obrigado!",
    }
    refused = await http.post(PAGE, data=typed)
    assert refused.status_code == 422
    assert '<p class="alert" role="alert">Confira os campos destacados.</p>' in refused.text
    assert 'aria-invalid="true" aria-describedby="question-error"' in refused.text
    assert '<p class="field-error" id="question-error">variável desconhecida: nomee' in (
        refused.text
    )
    assert 'id="thanks-error"' not in refused.text
    # As typed, the switch too; the preview says what is wrong.
    assert "Nota de 1 a 5, {{nomee}}?</textarea>" in refused.text
    assert ">Obrigado!</textarea>" in refused.text
    assert 'name="enabled" checked>' in refused.text
    assert '<p class="field-error">variável desconhecida: nomee' in refused.text
    assert await stored(db, company) == []

    blank = await http.post(PAGE, data={**typed, "question": "Nota?", "thanks": "   "})
    assert blank.status_code == 422
    assert 'id="thanks-error"' in blank.text
    too_long = await http.post(PAGE, data={**typed, "question": "a" * 1001})
    assert too_long.status_code == 422
    assert "aceita no máximo 1000 caracteres" in too_long.text
    assert await stored(db, company) == []


async def test_the_preview_follows_the_texts_as_they_are_typed(
    new_browser: Browser, factory: Factory
) -> None:
    http, csrf, _ = await admin_panel(new_browser, factory)
    page = (await http.get(PAGE)).text
    assert f'hx-post="{PAGE}/preview" hx-include="closest form"' in page
    headers = {"X-CSRF-Token": csrf, "HX-Request": "true"}
    shown = await http.post(
        f"{PAGE}/preview",
        data={"question": "Oi {{primeiro_nome}}, nota?", "thanks": "Valeu, {{apelido}}!"},
        headers=headers,
    )
    assert shown.status_code == 200
    assert shown.text.strip().startswith('<div id="survey-preview"')
    assert '<p class="preview-text">Oi Maria, nota?</p>' in shown.text
    assert '<p class="field-error">variável desconhecida: apelido' in shown.text
    escaped = await http.post(
        f"{PAGE}/preview", data={"question": "<img src=x>", "thanks": ""}, headers=headers
    )
    assert "<img" not in escaped.text
    assert "&lt;img src=x&gt;" in escaped.text
    assert "Escreva o agradecimento para ver como fica." in escaped.text


async def test_the_save_reaches_the_process_copy_of_the_survey_at_once(
    new_browser: Browser, factory: Factory, db: Database, panel_app: FastAPI
) -> None:
    http, csrf, company = await admin_panel(new_browser, factory)
    rules = runtime_of(panel_app).survey_rules
    async with db.service_session() as session:
        assert await rules.for_company(session, company) is None  # off: remembered a while
    saved = await http.post(
        PAGE, data={"csrf_token": csrf, "enabled": "on", "question": QUESTION, "thanks": THANKS}
    )
    assert saved.status_code == 303
    async with db.service_session() as session:
        rule = await rules.for_company(session, company)  # forgotten: read anew at once
    assert rule is not None
    assert rule.thanks == THANKS


async def test_only_admins_see_the_page_and_its_link(
    new_browser: Browser, factory: Factory, db: Database
) -> None:
    company = await factory.company()
    admin = await new_browser()
    await panel_login(admin, await factory.user(company, Role.ADMIN))
    assert (await admin.get(PAGE)).status_code == 200
    assert f'href="{PAGE}"' in (await admin.get("/panel/admin/departments")).text
    form = {"enabled": "on", "question": QUESTION, "thanks": THANKS}
    for role in (Role.OPERATOR, Role.SUPERVISOR):
        http = await new_browser()
        csrf = await panel_login(http, await factory.user(company, role))
        assert (await http.get(PAGE)).status_code == 404
        assert (await http.post(PAGE, data={"csrf_token": csrf, **form})).status_code == 404
        preview = await http.post(f"{PAGE}/preview", data={"csrf_token": csrf, **form})
        assert preview.status_code == 404
    admin_area = await http.get("/panel/admin/departments")  # the supervisor's admin pages
    assert admin_area.status_code == 200
    assert PAGE not in admin_area.text
    assert await stored(db, company) == []


async def test_a_save_without_the_csrf_token_changes_nothing(
    new_browser: Browser, factory: Factory, db: Database
) -> None:
    http, _csrf, company = await admin_panel(new_browser, factory)
    form = {"enabled": "on", "question": QUESTION, "thanks": THANKS}
    assert (await http.post(PAGE, data=form)).status_code == 403
    assert (await http.post(PAGE, data={"csrf_token": "forged", **form})).status_code == 403
    assert (await http.post(f"{PAGE}/preview", data=form)).status_code == 403
    assert await stored(db, company) == []
