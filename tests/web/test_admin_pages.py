"""Admin pages: users and roles (deactivation ends sessions), funnel stages, custom fields."""

from __future__ import annotations

import httpx

from tests.conftest import Factory, UserFixture
from tests.evolution.harness import rows
from tests.web.conftest import Browser, new_company_chat, panel_login
from zapcrm.db import Database
from zapcrm.models import Role
from zapcrm.web.pages.fields import key_from_label


async def test_only_admins_reach_the_admin_pages(new_browser: Browser, factory: Factory) -> None:
    company = await factory.company()
    for role in (Role.OPERATOR, Role.SUPERVISOR):
        http = await new_browser()
        csrf = await panel_login(http, await factory.user(company, role))
        assert (await http.get("/panel/admin/users")).status_code == 404
        assert (await http.get("/panel/admin/fields")).status_code == 404
        created = await http.post(
            "/panel/admin/stages", data={"csrf_token": csrf, "label": "Ganho"}
        )
        assert created.status_code == 404
        nav = (await http.get("/panel/inbox")).text
        # Supervisors curate quick replies there; users and fields stay for admins.
        assert ("Administração" in nav) is (role is Role.SUPERVISOR)


async def test_admin_creates_promotes_and_deactivates_a_colleague(
    new_browser: Browser, factory: Factory, db: Database
) -> None:
    company = await factory.company()
    admin = await factory.user(company, Role.ADMIN)
    http = await new_browser()
    csrf = await panel_login(http, admin)
    short = await http.post(
        "/panel/admin/users",
        data={"csrf_token": csrf, "email": "nova@exemplo.com.br", "password": "curta"},
    )
    assert short.status_code == 422
    assert "A senha precisa de 8 a 72 caracteres." in short.text
    assert 'value="nova@exemplo.com.br"' in short.text
    created = await http.post(
        "/panel/admin/users",
        data={
            "csrf_token": csrf,
            "email": "Nova@Exemplo.com.br",
            "display_name": "Nova Atendente",
            "role": "operator",
            "password": "senha-forte-123",
        },
    )
    assert created.status_code == 303
    # The same address again: the form comes back with what was typed and says why.
    again = await http.post(
        "/panel/admin/users",
        data={
            "csrf_token": csrf,
            "email": "nova@exemplo.com.br",
            "display_name": "Outra Pessoa",
            "role": "supervisor",
            "password": "senha-forte-456",
        },
    )
    assert again.status_code == 409
    assert "Já existe um usuário com este e-mail" in again.text
    assert 'value="Outra Pessoa"' in again.text
    found = await rows(
        db, "select id, role, active from profiles where email = 'nova@exemplo.com.br'"
    )
    assert [(row["role"], row["active"]) for row in found] == [("operator", True)]
    colleague = UserFixture(
        id=found[0]["id"],
        company_id=company,
        email="nova@exemplo.com.br",
        role=Role.OPERATOR,
        password="senha-forte-123",
    )
    their_browser = await new_browser()
    await panel_login(their_browser, colleague)
    promoted = await http.post(
        f"/panel/admin/users/{colleague.id}", data={"csrf_token": csrf, "role": "supervisor"}
    )
    assert promoted.status_code == 303
    deactivated = await http.post(
        f"/panel/admin/users/{colleague.id}", data={"csrf_token": csrf, "active": "false"}
    )
    assert deactivated.status_code == 303
    assert await rows(db, "select role, active from profiles where id = :id", id=colleague.id) == [
        {"role": "supervisor", "active": False}
    ]
    assert (await their_browser.get("/panel/inbox")).status_code == 303  # signed out
    myself = await http.post(
        f"/panel/admin/users/{admin.id}", data={"csrf_token": csrf, "role": "operator"}
    )
    assert myself.status_code == 409  # nobody demotes themselves (or the last admin)


async def test_stages_and_custom_fields_feed_the_contact_pages(
    new_browser: Browser, factory: Factory
) -> None:
    admin = await factory.user(await factory.company(), Role.ADMIN)
    http = await new_browser()
    csrf = await panel_login(http, admin)
    for label in ("Primeiro contato", "Proposta enviada"):
        response = await http.post("/panel/admin/stages", data={"csrf_token": csrf, "label": label})
        assert response.status_code == 303
    listed = await http.post(
        "/panel/admin/attributes",
        data={"csrf_token": csrf, "label": "Tamanho", "type": "list", "options": "P\nM\nG\n"},
    )
    assert listed.status_code == 303
    empty_list = await http.post(
        "/panel/admin/attributes",
        data={"csrf_token": csrf, "label": "Cor", "type": "list", "options": ""},
        headers={"HX-Request": "true"},
    )
    assert empty_list.status_code == 422
    duplicate = await http.post(
        "/panel/admin/stages", data={"csrf_token": csrf, "label": "Proposta  enviada!"}
    )
    assert duplicate.status_code == 409
    page = await http.get("/panel/admin/fields")
    assert "Proposta enviada" in page.text
    assert "P, M, G" in page.text
    new_contact = await http.get("/panel/contacts/new")
    assert '<option value="proposta_enviada">Proposta enviada</option>' in new_contact.text
    builder = await http.get("/panel/contacts/filter-row")
    assert '<option value="custom.tamanho">Tamanho</option>' in builder.text


def test_definition_keys_come_from_labels() -> None:
    assert key_from_label("Data de nascimento") == "data_de_nascimento"
    assert key_from_label("Ação   comercial!") == "acao_comercial"
    assert key_from_label("2ª via") == "campo_2a_via"
    assert key_from_label("???") == "campo"
    assert len(key_from_label("x" * 300)) == 50


async def test_company_settings_change_the_time_zone_every_page_shows(
    new_browser: Browser, client: httpx.AsyncClient, db: Database, factory: Factory
) -> None:
    chat = await new_company_chat(client, db, factory, text_body="que horas são aí?")
    admin = await factory.user(chat.instance.company_id, Role.ADMIN)
    http = await new_browser()
    csrf = await panel_login(http, admin)
    # harness messages are stamped 1763326182 = 2025-11-16 20:49:42 UTC
    before = await http.get(f"/panel/inbox/{chat.conversation_id}")
    assert ">17:49<" in before.text  # BRT by default
    refused = await http.post(
        "/panel/admin/company",
        data={
            "csrf_token": csrf,
            "name": "Loja",
            "timezone": "Mars/Olympus",
            "default_region": "BR",
        },
        headers={"HX-Request": "true"},
    )
    assert refused.status_code == 422
    saved = await http.post(
        "/panel/admin/company",
        data={"csrf_token": csrf, "name": "Loja Lisboa", "timezone": "Europe/Lisbon",
              "default_region": "PT"},
    )  # fmt: skip
    assert saved.status_code == 303
    after = await http.get(f"/panel/inbox/{chat.conversation_id}")
    assert ">20:49<" in after.text  # Lisbon is UTC in November
    page = await http.get("/panel/admin/company")
    assert '<option value="Europe/Lisbon" selected>' in page.text
    audit = await rows(
        db,
        "select action from audit_log where company_id = :c and action = 'company.updated'",
        c=chat.instance.company_id,
    )
    assert audit == [{"action": "company.updated"}]
    supervisor = await new_browser()
    await panel_login(supervisor, await factory.user(chat.instance.company_id, Role.SUPERVISOR))
    assert (await supervisor.get("/panel/admin/company")).status_code == 404


async def test_a_taken_or_malformed_shortcut_comes_back_on_the_form_as_typed(
    new_browser: Browser, factory: Factory, db: Database
) -> None:
    supervisor = await factory.user(await factory.company(), Role.SUPERVISOR)
    http = await new_browser()
    csrf = await panel_login(http, supervisor)
    reply = {"csrf_token": csrf, "shortcut": "/frete", "title": "Frete", "body": "Grátis."}
    assert (await http.post("/panel/admin/quick-replies", data=reply)).status_code == 303

    typed = reply | {"title": "Frete <expresso>", "body": "Chega amanhã, {{primeiro_nome}}."}
    taken = await http.post("/panel/admin/quick-replies", data=typed)
    assert taken.status_code == 409
    # The admin page with its menu, the reason by the field and everything typed kept.
    assert 'href="/panel/admin/quick-replies" aria-current="page"' in taken.text
    assert '<p class="alert" role="alert">O atalho /frete já existe</p>' in taken.text
    assert '<p class="field-error" id="shortcut-error">já existe</p>' in taken.text
    assert 'name="shortcut" required maxlength="60" placeholder="/frete" value="/frete"' in (
        taken.text
    )
    assert 'aria-invalid="true" aria-describedby="shortcut-error" autofocus' in taken.text
    assert 'value="Frete &lt;expresso&gt;"' in taken.text
    assert ">Chega amanhã, {{primeiro_nome}}.</textarea>" in taken.text

    spaced = await http.post("/panel/admin/quick-replies", data=reply | {"shortcut": "pix qa"})
    assert spaced.status_code == 422
    assert 'value="pix qa"' in spaced.text
    assert (
        '<p class="field-error" id="shortcut-error">'
        "use / seguido de até 40 caracteres, sem espaços (ex.: /frete)</p>"
    ) in spaced.text
    stored = await rows(
        db, "select shortcut from quick_replies where company_id = :c", c=supervisor.company_id
    )
    assert stored == [{"shortcut": "/frete"}]
