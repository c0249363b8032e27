"""The company page's "Assinar as mensagens dos atendentes": an admin turns it on (audited)."""

from __future__ import annotations

from tests.conftest import Factory
from tests.evolution.harness import rows
from tests.web.conftest import Browser, panel_login
from zapcrm.db import Database
from zapcrm.models import Role


async def test_an_admin_turns_signing_on_in_the_company_page(
    new_browser: Browser, db: Database, factory: Factory
) -> None:
    company = await factory.company()
    admin = await factory.user(company, Role.ADMIN)
    http = await new_browser()
    csrf = await panel_login(http, admin)
    page = (await http.get("/panel/admin/company")).text
    assert '<input type="checkbox" name="sign_messages">' in page
    form = {
        "csrf_token": csrf,
        "name": "Loja",
        "timezone": "America/Sao_Paulo",
        "default_region": "BR",
        "sign_messages": "on",
    }
    saved = await http.post("/panel/admin/company", data=form)
    assert saved.status_code == 303
    assert (
        '<input type="checkbox" name="sign_messages" checked>'
        in (await http.get("/panel/admin/company")).text
    )
    [row] = await rows(db, "select sign_messages from companies where id = :c", c=company)
    assert row["sign_messages"] is True
    audit = await rows(
        db,
        "select details from audit_log where company_id = :c and action = 'company.updated'",
        c=company,
    )
    assert audit[-1]["details"]["after"]["sign_messages"] is True
