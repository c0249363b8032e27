"""The departments page: admins create, rename, staff, reorder and delete departments and turn
the WhatsApp menu on with a greeting (previewed as the customer reads it); a refused form comes
back as typed with the reason by its field; supervisors read it, operators do not find it; every
change reaches the process's copy of the menu at once."""

from __future__ import annotations

import re
import uuid

import httpx
from fastapi import FastAPI
from sqlalchemy import text

from tests.conftest import Factory, UserFixture
from tests.evolution.harness import rows
from tests.web.conftest import Browser, panel_login
from zapcrm.db import Database
from zapcrm.models import Role
from zapcrm.runtime import Runtime

PAGE = "/panel/admin/departments"
NAMES = re.compile(r'<strong class="department-name">([^<]*)</strong>')


async def signed_in(new_browser: Browser, user: UserFixture) -> tuple[httpx.AsyncClient, str]:
    http = await new_browser()
    return http, await panel_login(http, user)


async def named(db: Database, user: UserFixture, name: str) -> UserFixture:
    async with db.service_session() as session:
        await session.execute(
            text("update profiles set display_name = :name where id = :id"),
            {"name": name, "id": user.id},
        )
    return user


async def departments(db: Database, company: uuid.UUID) -> list[dict[str, object]]:
    """The company's departments in menu order, each with its members' ids (sorted)."""
    found = await rows(
        db,
        "select d.id, d.name, d.position, coalesce(array(select m.user_id::text from"
        " department_members m where m.department_id = d.id order by 1), '{}') as members"
        " from departments d where d.company_id = :c order by d.position",
        c=company,
    )
    return [dict(row) for row in found]


async def create(
    http: httpx.AsyncClient, csrf: str, name: str, *members: UserFixture
) -> httpx.Response:
    return await http.post(
        PAGE,
        data={"csrf_token": csrf, "name": name, "member_ids": [str(m.id) for m in members]},
    )


def runtime_of(app: FastAPI) -> Runtime:
    runtime: Runtime = app.state.runtime
    return runtime


async def test_an_admin_creates_renames_staffs_reorders_and_deletes_departments(
    new_browser: Browser, factory: Factory, db: Database
) -> None:
    company = await factory.company()
    admin = await named(db, await factory.user(company, Role.ADMIN), "Ana Admin")
    olga = await named(db, await factory.user(company, Role.OPERATOR), "Olga Operadora")
    http, csrf = await signed_in(new_browser, admin)

    response = await http.get(PAGE)
    assert response.status_code == 200
    assert f'href="{PAGE}" aria-current="page"' in response.text
    assert "Nenhum setor ainda." in response.text
    assert f'name="member_ids" value="{olga.id}">' in response.text  # a box per active user

    created = await create(http, csrf, " Vendas ", olga)
    assert (created.status_code, created.headers["location"]) == (303, f"{PAGE}?ok=created")
    response = await http.get(created.headers["location"])
    assert "Setor criado." in response.text
    assert '<strong class="department-name">Vendas</strong>' in response.text
    assert (
        "Olga Operadora"
        in response.text.split('class="department-members">')[1].split("</span>")[0]
    )
    assert (await create(http, csrf, "Suporte")).status_code == 303
    assert (await create(http, csrf, "Financeiro", admin, olga)).status_code == 303
    listed = await departments(db, company)
    assert [(d["name"], d["position"]) for d in listed] == [
        ("Vendas", 1),
        ("Suporte", 2),
        ("Financeiro", 3),
    ]
    assert listed[0]["members"] == [str(olga.id)]
    assert listed[1]["members"] == []
    sales, support, finance = (uuid.UUID(str(d["id"])) for d in listed)

    # Rename and staff: the boxes ticked are the members, all of them.
    renamed = await http.post(
        f"{PAGE}/{support}",
        data={"csrf_token": csrf, "name": "Suporte técnico", "member_ids": [str(admin.id)]},
    )
    assert (renamed.status_code, renamed.headers["location"]) == (303, f"{PAGE}?ok=saved")
    emptied = await http.post(f"{PAGE}/{finance}", data={"csrf_token": csrf, "name": "Financeiro"})
    assert emptied.status_code == 303
    listed = await departments(db, company)
    assert [(d["name"], d["members"]) for d in listed] == [
        ("Vendas", [str(olga.id)]),
        ("Suporte técnico", [str(admin.id)]),
        ("Financeiro", []),
    ]
    page = (await http.get(f"{PAGE}?ok=saved")).text
    assert "Setor salvo." in page
    assert "Sem membros" in page

    # Up and down: the buttons send the new number in the menu.
    assert f'action="{PAGE}/{sales}/position"' in page  # down only
    assert page.count(f'action="{PAGE}/{finance}/position"') == 1  # up only
    assert page.count(f'action="{PAGE}/{support}/position"') == 2
    moved = await http.post(f"{PAGE}/{finance}/position", data={"csrf_token": csrf, "position": 1})
    assert moved.status_code == 303
    assert moved.headers["location"] == f"{PAGE}?ok=moved#department-{finance}"
    page = (await http.get(f"{PAGE}?ok=moved")).text
    assert "Ordem do menu salva." in page
    assert NAMES.findall(page) == ["Financeiro", "Vendas", "Suporte técnico"]
    down = await http.post(f"{PAGE}/{sales}/position", data={"csrf_token": csrf, "position": 3})
    assert down.status_code == 303
    assert [d["name"] for d in await departments(db, company)] == [
        "Financeiro",
        "Suporte técnico",
        "Vendas",
    ]

    # Delete: htmx asks first (hx-confirm) and follows HX-Redirect; a plain form gets a 303.
    assert f'hx-post="{PAGE}/{sales}/delete" hx-confirm="Excluir o setor Vendas?' in page
    gone = await http.post(
        f"{PAGE}/{sales}/delete", data={"csrf_token": csrf}, headers={"HX-Request": "true"}
    )
    assert (gone.status_code, gone.headers["HX-Redirect"]) == (204, f"{PAGE}?ok=deleted")
    plain = await http.post(f"{PAGE}/{finance}/delete", data={"csrf_token": csrf})
    assert (plain.status_code, plain.headers["location"]) == (303, f"{PAGE}?ok=deleted")
    assert [(d["name"], d["position"]) for d in await departments(db, company)] == [
        ("Suporte técnico", 1)
    ]
    page = (await http.get(f"{PAGE}?ok=deleted")).text
    assert "Setor excluído." in page
    again = await http.post(f"{PAGE}/{sales}/delete", data={"csrf_token": csrf})
    assert again.status_code == 404
    unsigned = await http.post(f"{PAGE}/{support}/delete", data={})
    assert unsigned.status_code == 403  # no CSRF token: nothing changes
    assert len(await departments(db, company)) == 1


async def test_a_taken_name_comes_back_in_its_form_as_typed(
    new_browser: Browser, factory: Factory, db: Database
) -> None:
    company = await factory.company()
    admin = await factory.user(company, Role.ADMIN)
    olga = await named(db, await factory.user(company, Role.OPERATOR), "Olga")
    http, csrf = await signed_in(new_browser, admin)
    assert (await create(http, csrf, "Vendas")).status_code == 303
    assert (await create(http, csrf, "Suporte")).status_code == 303

    taken = await create(http, csrf, "VENDAS", olga)
    assert taken.status_code == 409
    assert '<p class="alert" role="alert">' in taken.text
    assert "O setor VENDAS já existe" in taken.text
    new_form = taken.text.split('id="new-department-title"')[1]
    assert 'value="VENDAS"' in new_form
    assert 'aria-invalid="true" aria-describedby="name-new-error"' in new_form
    assert '<p class="field-error" id="name-new-error">já existe</p>' in new_form
    assert f'name="member_ids" value="{olga.id}" checked>' in new_form

    [_sales, support] = [uuid.UUID(str(d["id"])) for d in await departments(db, company)]
    renamed = await http.post(f"{PAGE}/{support}", data={"csrf_token": csrf, "name": "vendas"})
    assert renamed.status_code == 409
    assert '<details class="department-edit" open>' in renamed.text
    assert f'id="name-{support}" name="name" required maxlength="60" value="vendas"' in renamed.text
    assert f'id="name-{support}-error"' in renamed.text

    blank = await create(http, csrf, "   ")
    assert blank.status_code == 422
    assert 'aria-describedby="name-new-error"' in blank.text
    too_long = await create(http, csrf, "x" * 61)
    assert too_long.status_code == 422
    assert "aceita no máximo 60 caracteres" in too_long.text
    strange = await http.post(
        PAGE, data={"csrf_token": csrf, "name": "Compras", "member_ids": ["nope"]}
    )
    assert strange.status_code == 422
    assert 'id="members-new-error"' in strange.text
    stranger = await factory.user(await factory.company(), Role.OPERATOR)
    foreign = await create(http, csrf, "Compras", olga, stranger)
    assert foreign.status_code == 422
    assert "Um dos membros não é usuário da empresa" in foreign.text
    assert '<p class="field-error" id="members-new-error">usuário desconhecido</p>' in foreign.text
    assert f'value="{stranger.id}"' not in foreign.text  # no box for someone of elsewhere
    assert [d["name"] for d in await departments(db, company)] == ["Vendas", "Suporte"]


async def test_the_menu_needs_a_department_and_previews_what_the_customer_reads(
    new_browser: Browser, factory: Factory, db: Database, panel_app: FastAPI
) -> None:
    company = await factory.company()
    admin = await factory.user(company, Role.ADMIN)
    http, csrf = await signed_in(new_browser, admin)
    page = (await http.get(PAGE)).text
    assert '<span class="pill">Desligado</span>' in page
    assert "Olá! Para agilizar seu atendimento, responda com o número do setor:</textarea>" in page
    assert "Sem setores, o menu não é enviado." in page

    refused = await http.post(
        f"{PAGE}/menu", data={"csrf_token": csrf, "enabled": "on", "greeting": "Oi! Escolha:"}
    )
    assert refused.status_code == 422
    assert "Crie ao menos um setor antes de ligar o menu" in refused.text
    assert 'name="enabled" checked aria-invalid="true" aria-describedby="enabled-error"' in (
        refused.text
    )
    assert '<p class="field-error" id="enabled-error">nenhum setor</p>' in refused.text
    assert ">Oi! Escolha:</textarea>" in refused.text  # as typed
    assert await rows(db, "select 1 from department_menus where company_id = :c", c=company) == []
    too_long = await http.post(
        f"{PAGE}/menu", data={"csrf_token": csrf, "enabled": "", "greeting": "a" * 1001}
    )
    assert too_long.status_code == 422
    assert 'aria-describedby="greeting-error"' in too_long.text
    assert "aceita no máximo 1000 caracteres" in too_long.text

    assert (await create(http, csrf, "Vendas")).status_code == 303
    assert (await create(http, csrf, "Suporte")).status_code == 303
    rules = runtime_of(panel_app).menu_rules
    async with db.service_session() as session:
        assert await rules.for_company(session, company) is None  # off: remembered a while
    saved = await http.post(
        f"{PAGE}/menu",
        data={"csrf_token": csrf, "enabled": "on", "greeting": " Oi! Qual <b>setor</b>? "},
    )
    assert (saved.status_code, saved.headers["location"]) == (303, f"{PAGE}?ok=menu")
    async with db.service_session() as session:
        rule = await rules.for_company(session, company)  # forgotten: read anew at once
    assert rule is not None
    assert rule.text() == "Oi! Qual <b>setor</b>?\n\n*1* - Vendas\n*2* - Suporte"
    page = (await http.get(saved.headers["location"])).text
    assert "Menu salvo." in page
    assert '<span class="pill hours-open">Ligado</span>' in page
    assert 'name="enabled" checked>' in page
    assert '<p class="preview-text">Oi! Qual &lt;b&gt;setor&lt;/b&gt;?</p>' in page
    assert '<p class="menu-option"><strong>1</strong> - Vendas</p>' in page
    assert '<p class="menu-option"><strong>2</strong> - Suporte</p>' in page
    assert await rows(
        db, "select enabled, greeting from department_menus where company_id = :c", c=company
    ) == [{"enabled": True, "greeting": "Oi! Qual <b>setor</b>?"}]

    # The preview follows the greeting while it is typed (htmx).
    assert f'hx-post="{PAGE}/menu/preview"' in page
    preview = await http.post(
        f"{PAGE}/menu/preview",
        data={"greeting": "Bom dia!"},
        headers={"X-CSRF-Token": csrf, "HX-Request": "true"},
    )
    assert preview.status_code == 200
    assert preview.text.strip().startswith('<div id="menu-preview"')
    assert '<p class="preview-text">Bom dia!</p>' in preview.text
    assert "<strong>2</strong> - Suporte" in preview.text
    # Variables are filled for the campaigns' sample person; a misspelt one says so.
    named = await http.post(
        f"{PAGE}/menu/preview",
        data={"greeting": "Olá, {{primeiro_nome}}! *Escolha*:"},
        headers={"X-CSRF-Token": csrf, "HX-Request": "true"},
    )
    assert "Para Maria Souza:" in named.text
    assert '<p class="preview-text">Olá, Maria! <strong>Escolha</strong>:</p>' in named.text
    misspelt = await http.post(
        f"{PAGE}/menu/preview",
        data={"greeting": "Olá, {{apelido}}!"},
        headers={"X-CSRF-Token": csrf, "HX-Request": "true"},
    )
    assert '<p class="field-error">variável desconhecida: apelido' in misspelt.text

    # A rename shows in the menu at once too.
    [sales, support] = [uuid.UUID(str(d["id"])) for d in await departments(db, company)]
    await http.post(f"{PAGE}/{sales}", data={"csrf_token": csrf, "name": "Comercial"})
    async with db.service_session() as session:
        rule = await rules.for_company(session, company)
    assert rule is not None
    assert [option.name for option in rule.options] == ["Comercial", "Suporte"]

    # With its departments gone the menu stays on but says nothing: the page warns.
    for department in (sales, support):
        await http.post(f"{PAGE}/{department}/delete", data={"csrf_token": csrf})
    async with db.service_session() as session:
        assert await rules.for_company(session, company) is None
    page = (await http.get(PAGE)).text
    assert "O menu está ligado, mas sem setores ele não é enviado." in page
    turned_off = await http.post(
        f"{PAGE}/menu", data={"csrf_token": csrf, "greeting": "Oi! Qual setor?"}
    )
    assert turned_off.status_code == 303
    assert '<span class="pill">Desligado</span>' in (await http.get(PAGE)).text


async def test_supervisors_read_it_and_operators_do_not_find_it(
    new_browser: Browser, factory: Factory, db: Database
) -> None:
    company = await factory.company()
    admin = await factory.user(company, Role.ADMIN)
    supervisor = await factory.user(company, Role.SUPERVISOR)
    olga = await named(db, await factory.user(company, Role.OPERATOR), "Olga")
    http, csrf = await signed_in(new_browser, admin)
    assert (await create(http, csrf, "Vendas", olga)).status_code == 303
    [sales] = [uuid.UUID(str(d["id"])) for d in await departments(db, company)]

    reader, reader_csrf = await signed_in(new_browser, supervisor)
    view = await reader.get(PAGE)
    assert view.status_code == 200
    assert f'href="{PAGE}" aria-current="page"' in view.text
    assert '<strong class="department-name">Vendas</strong>' in view.text
    assert "Olga" in view.text
    assert '<form method="post" action="/panel/admin/departments' not in view.text
    assert 'name="member_ids"' not in view.text
    assert "Só administradores mudam isto." in view.text
    assert "<strong>1</strong> - Vendas" in view.text
    assert f'href="{PAGE}"' in (await reader.get("/panel/admin/distribution")).text
    for path, data in (
        (PAGE, {"name": "Suporte"}),
        (f"{PAGE}/{sales}", {"name": "Outro"}),
        (f"{PAGE}/{sales}/position", {"position": "1"}),
        (f"{PAGE}/{sales}/delete", {}),
        (f"{PAGE}/menu", {"enabled": "on", "greeting": "Oi"}),
        (f"{PAGE}/menu/preview", {"greeting": "Oi"}),
    ):
        refused = await reader.post(path, data={"csrf_token": reader_csrf, **data})
        assert refused.status_code == 404, path

    operator, operator_csrf = await signed_in(new_browser, olga)
    assert (await operator.get(PAGE)).status_code == 404
    refused = await operator.post(PAGE, data={"csrf_token": operator_csrf, "name": "Suporte"})
    assert refused.status_code == 404
    assert PAGE not in (await operator.get("/panel/")).text
    assert [(d["name"], d["members"]) for d in await departments(db, company)] == [
        ("Vendas", [str(olga.id)])
    ]


async def test_names_are_escaped(new_browser: Browser, factory: Factory, db: Database) -> None:
    company = await factory.company()
    admin = await factory.user(company, Role.ADMIN)
    await named(db, await factory.user(company, Role.OPERATOR), "<i>Olga</i>")
    http, csrf = await signed_in(new_browser, admin)
    people = await rows(
        db, "select id::text as id from profiles where company_id = :c and role = 'operator'",
        c=company,
    )  # fmt: skip
    saved = await http.post(
        PAGE,
        data={
            "csrf_token": csrf,
            "name": "<script>alert(1)</script>",
            "member_ids": [people[0]["id"]],
        },
    )
    assert saved.status_code == 303
    page = (await http.get(PAGE)).text
    assert "<script>alert(1)</script>" not in page
    assert "<i>Olga</i>" not in page
    assert '<strong class="department-name">&lt;script&gt;alert(1)&lt;/script&gt;</strong>' in page
    assert "&lt;i&gt;Olga&lt;/i&gt;" in page
    assert 'value="&lt;script&gt;alert(1)&lt;/script&gt;"' in page  # the edit form
    assert "<strong>1</strong> - &lt;script&gt;alert(1)&lt;/script&gt;" in page  # the preview
    preview = await http.post(
        f"{PAGE}/menu/preview",
        data={"greeting": "<img src=x>"},
        headers={"X-CSRF-Token": csrf, "HX-Request": "true"},
    )
    assert "<img" not in preview.text
    assert "&lt;img src=x&gt;" in preview.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in preview.text
