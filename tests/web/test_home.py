"""Home: my open chats, who is waiting longest, and for supervisors only the team now and
queue health."""

from __future__ import annotations

import time

import httpx
from sqlalchemy import text

from tests.conftest import Factory
from tests.evolution.harness import new_instance, post, rows, text_message
from tests.web.conftest import Browser, panel_login
from zapcrm.db import Database
from zapcrm.distribution import presence
from zapcrm.models import Role
from zapcrm.runtime import Runtime


async def test_home_lists_my_chats_the_waiting_queue_and_health_for_supervisors(
    new_browser: Browser, client: httpx.AsyncClient, db: Database, factory: Factory
) -> None:
    instance = await new_instance(db, factory)
    people = [("5511987650201", "Primeira", 1763300000), ("5511987650202", "Segunda", 1763300600),
              ("5511987650203", "Minha", 1763301200),
              ("5511987650204", "Recente", int(time.time()) - 30)]  # fmt: skip
    for index, (number, name, at) in enumerate(people):
        body = text_message(
            f"HOME{index}", remote_jid=f"{number}@s.whatsapp.net", push_name=name, timestamp=at
        )
        assert (await post(client, instance.envelope(body))).status_code == 200
    operator = await factory.user(instance.company_id, Role.OPERATOR)
    async with db.service_session() as session:
        await session.execute(
            text(
                "update evolution_conversations set assignee_id = :a"
                " where remote_jid = '5511987650203@s.whatsapp.net' and company_id = :c"
            ),
            {"a": operator.id, "c": instance.company_id},
        )
    http = await new_browser()
    await panel_login(http, operator)
    page = await http.get("/panel/")
    assert page.status_code == 200
    mine, rest = page.text.split('id="waiting-title"', 1)
    waiting = rest.split('id="tasks-title"', 1)[0]
    assert "Minha" in mine
    assert "Primeira" not in mine
    assert waiting.index("Primeira") < waiting.index("Segunda")  # longest wait first
    assert "Minha" not in waiting
    # Only a long wait is shown in the alarm colour.
    assert '<span class="wait wait-late">há' in waiting.split("Segunda", 1)[0]
    assert '<span class="wait">agora</span>' in waiting.split("Recente", 1)[1]
    assert "Saúde do atendimento" not in page.text

    supervisor = await factory.user(instance.company_id, Role.SUPERVISOR)
    boss = await new_browser()
    await panel_login(boss, supervisor)
    overview = await boss.get("/panel/")
    assert "Saúde do atendimento" in overview.text
    # Queues and alerts in words; the stream's name stays as the row's title.
    assert '<td title="evolution:incoming-messages">Mensagens recebidas</td>' in overview.text
    assert (
        "Nenhum processo de fundo (worker) está tratando a fila “Mensagens recebidas”"
        in overview.text
    )  # no worker runs in this test
    answered = await rows(
        db,
        "select count(*) as n from evolution_conversations where company_id = :c",
        c=instance.company_id,
    )
    assert answered == [{"n": 4}]


async def test_home_sections_reload_alone_and_the_page_listens_for_changes(
    new_browser: Browser, client: httpx.AsyncClient, db: Database, factory: Factory
) -> None:
    instance = await new_instance(db, factory)
    body = text_message("HOMELIVE1", remote_jid="5511987650299@s.whatsapp.net", push_name="Zuleide")
    assert (await post(client, instance.envelope(body))).status_code == 200
    http = await new_browser()
    await panel_login(http, await factory.user(instance.company_id, Role.OPERATOR))
    page = await http.get("/panel/")
    assert 'sse-connect="/panel/events?home=1"' in page.text
    assert 'id="home-live"' in page.text
    sections = await http.get("/panel/", headers={"HX-Request": "true", "HX-Target": "home-grid"})
    assert sections.status_code == 200
    assert "Zuleide" in sections.text
    assert 'id="waiting-title"' in sections.text
    assert "<html" not in sections.text
    assert "sse-connect" not in sections.text


async def test_supervisors_see_the_team_now_with_each_ones_state_and_load(
    new_browser: Browser,
    client: httpx.AsyncClient,
    db: Database,
    factory: Factory,
    runtime: Runtime,
) -> None:
    instance = await new_instance(db, factory)
    company = instance.company_id
    body = text_message("HOMETEAM", remote_jid="5511987650301@s.whatsapp.net", push_name="Rui")
    assert (await post(client, instance.envelope(body))).status_code == 200
    ana = await factory.user(company, Role.OPERATOR)
    bia = await factory.user(company, Role.OPERATOR)
    async with db.service_session() as session:
        for user, name in ((ana, "Ana <b>A</b>"), (bia, "Bia B")):
            await session.execute(
                text("update profiles set display_name = :n where id = :id"),
                {"n": name, "id": user.id},
            )
        await session.execute(
            text("update evolution_conversations set assignee_id = :a where company_id = :c"),
            {"a": ana.id, "c": company},
        )
        await session.execute(
            text(
                "insert into agent_availability (company_id, user_id, accepting)"
                " values (:c, :u, true)"
            ),
            {"c": company, "u": ana.id},
        )
    await presence.mark_present(runtime.redis, company, ana.id)
    supervisor = await factory.user(company, Role.SUPERVISOR)
    boss = await new_browser()
    await panel_login(boss, supervisor)
    page = (await boss.get("/panel/")).text
    team = page.split('id="team-title"', 1)[1].split("</section>", 1)[0]
    assert (
        '<span class="presence presence-on">Disponível</span>\n          Ana &lt;b&gt;A&lt;/b&gt;'
    ) in team
    assert "<b>A</b>" not in team
    assert "1 conversa aberta" in team
    assert '<span class="presence presence-off">Fora do painel</span>\n          Bia B' in team
    assert "Distribuição automática desligada." in team
    assert "0 conversas aguardando atendente." in team
    operator = await new_browser()
    await panel_login(operator, bia)
    assert 'id="team-title"' not in (await operator.get("/panel/")).text
