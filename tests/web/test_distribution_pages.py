"""Distribution in the panel: the header's switch (absent until the company distributes,
toggled by its owner with CSRF), and the admin page (admins change it, supervisors read it,
see the team and give a colleague's chats back to the queue, operators do not find it)."""

from __future__ import annotations

import httpx
from sqlalchemy import text

from tests.conftest import Factory, UserFixture
from tests.distribution.test_distribute import assignees, new_team
from tests.distribution.test_release import anas_chats
from tests.evolution.harness import rows
from tests.web.conftest import Browser, panel_login
from zapcrm.db import Database
from zapcrm.models import Role


async def signed_in(new_browser: Browser, user: UserFixture) -> tuple[httpx.AsyncClient, str]:
    http = await new_browser()
    return http, await panel_login(http, user)


async def turn_on(
    new_browser: Browser, admin: UserFixture, limit: str = "", idle: str = ""
) -> httpx.Response:
    http, csrf = await signed_in(new_browser, admin)
    return await http.post(
        "/panel/admin/distribution",
        data={
            "csrf_token": csrf,
            "enabled": "on",
            "max_open_per_agent": limit,
            "idle_close_hours": idle,
        },
    )


async def test_the_switch_appears_once_the_company_distributes_and_its_owner_flips_it(
    new_browser: Browser, factory: Factory, db: Database
) -> None:
    company = await factory.company()
    operator = await factory.user(company, Role.OPERATOR)
    http, csrf = await signed_in(new_browser, operator)
    home = await http.get("/panel/")
    assert 'hx-get="/panel/availability" hx-trigger="load"' in home.text
    assert (
        await http.get("/panel/availability")
    ).text.strip() == '<span id="availability" hidden></span>'

    saved = await turn_on(new_browser, await factory.user(company, Role.ADMIN))
    assert saved.status_code == 303
    switch = (await http.get("/panel/availability")).text
    assert 'class="availability-toggle off" aria-pressed="false"' in switch
    assert 'name="accepting" value="1"' in switch

    refused = await http.post("/panel/availability", data={"accepting": "1"})
    assert refused.status_code == 403  # no CSRF token: nothing changes
    flipped = await http.post(
        "/panel/availability",
        data={"accepting": "1"},
        headers={"X-CSRF-Token": csrf, "HX-Request": "true"},
    )
    assert flipped.status_code == 200
    assert 'class="availability-toggle on" aria-pressed="true"' in flipped.text
    assert await rows(
        db, "select accepting from agent_availability where user_id = :u", u=operator.id
    ) == [{"accepting": True}]
    # Without htmx the form posts and comes back to the panel.
    plain = await http.post("/panel/availability", data={"csrf_token": csrf, "accepting": "0"})
    assert (plain.status_code, plain.headers["location"]) == (303, "/panel/")
    assert "availability-toggle off" in (await http.get("/panel/availability")).text


async def test_admins_set_it_supervisors_read_it_operators_do_not_find_it(
    new_browser: Browser, factory: Factory, db: Database
) -> None:
    company = await factory.company()
    admin = await factory.user(company, Role.ADMIN)
    supervisor = await factory.user(company, Role.SUPERVISOR)
    operator = await factory.user(company, Role.OPERATOR)
    async with db.service_session() as session:
        await session.execute(
            text("update profiles set display_name = '<i>Olga</i>' where id = :id"),
            {"id": operator.id},
        )

    http, csrf = await signed_in(new_browser, admin)
    page = await http.get("/panel/admin/distribution")
    assert page.status_code == 200
    assert 'href="/panel/admin/distribution" aria-current="page"' in page.text
    assert 'name="enabled">' in page.text  # off until turned on
    bad = await http.post(
        "/panel/admin/distribution",
        data={"csrf_token": csrf, "enabled": "on", "max_open_per_agent": "0"},
    )
    assert bad.status_code == 422
    assert 'aria-invalid="true"' in bad.text
    assert 'name="enabled" checked>' in bad.text  # the form comes back as typed
    assert 'value="0"' in bad.text
    too_long = await http.post(
        "/panel/admin/distribution",
        data={"csrf_token": csrf, "enabled": "on", "idle_close_hours": "721"},
    )
    assert too_long.status_code == 422
    assert 'aria-describedby="idle_close_hours-error"' in too_long.text
    good = await turn_on(new_browser, admin, "3", "24")
    assert good.headers["location"] == "/panel/admin/distribution?ok=1"
    saved = (await http.get(good.headers["location"])).text
    assert "Configurações salvas." in saved
    assert 'name="enabled" checked>' in saved
    assert 'value="3"' in saved
    assert (
        'name="idle_close_hours" type="number" min="1" max="720" inputmode="numeric" value="24"'
        in saved
    )
    with_message = await http.post(
        "/panel/admin/distribution",
        data={
            "csrf_token": csrf,
            "enabled": "on",
            "max_open_per_agent": "3",
            "idle_close_hours": "24",
            "idle_close_message": "Até <b>logo</b>!",
        },
    )
    assert with_message.status_code == 303
    reread = (await http.get("/panel/admin/distribution")).text
    assert ">Até &lt;b&gt;logo&lt;/b&gt;!</textarea>" in reread

    reader, reader_csrf = await signed_in(new_browser, supervisor)
    view = await reader.get("/panel/admin/distribution")
    assert view.status_code == 200
    assert (
        "Ligada. Até 3 conversas abertas por atendente."
        " Conversas sem resposta do cliente encerram após 24 horas."
    ) in view.text
    assert 'action="/panel/admin/distribution"' not in view.text
    assert "&lt;i&gt;Olga&lt;/i&gt;" in view.text
    assert "<i>Olga</i>" not in view.text
    assert "0 conversas aguardando atendente." in view.text
    refused = await reader.post(
        "/panel/admin/distribution", data={"csrf_token": reader_csrf, "enabled": "on"}
    )
    assert refused.status_code == 404

    outsider, _csrf = await signed_in(new_browser, operator)
    assert (await outsider.get("/panel/admin/distribution")).status_code == 404
    assert "/panel/admin/distribution" not in (await outsider.get("/panel/")).text


async def test_the_team_page_gives_a_colleagues_chats_back_with_one_button(
    client: httpx.AsyncClient, db: Database, factory: Factory, new_browser: Browser
) -> None:
    team = await new_team(db, factory)
    chats = await anas_chats(client, db, team, "REL4")
    supervisor = await factory.user(team.company_id, Role.SUPERVISOR)
    http = await new_browser()
    csrf = await panel_login(http, supervisor)
    page = (await http.get("/panel/admin/distribution")).text
    action = f'action="/panel/admin/distribution/release/{team.ana.id}"'
    assert action in page
    assert f'action="/panel/admin/distribution/release/{team.bia.id}"' not in page  # none open
    done = await http.post(
        f"/panel/admin/distribution/release/{team.ana.id}", data={"csrf_token": csrf}
    )
    assert (done.status_code, done.headers["location"]) == (
        303,
        "/panel/admin/distribution?released=2",
    )
    assert "2 conversas voltaram para a fila." in (await http.get(done.headers["location"])).text
    assert await assignees(db, chats) == [None, None, team.ana.id]
    operator = await new_browser()
    operator_csrf = await panel_login(operator, team.bia)
    refused = await operator.post(
        f"/panel/admin/distribution/release/{team.ana.id}", data={"csrf_token": operator_csrf}
    )
    assert refused.status_code == 404
