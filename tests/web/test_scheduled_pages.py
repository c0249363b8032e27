"""The chat's "Agendar mensagem" box: schedule on the company's clock, see what is still to go
and cancel it, get a refused moment back with the reason and the text kept; only for chats
the reader may see, with CSRF."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import httpx

from tests.conftest import Factory
from tests.evolution.harness import rows
from tests.messaging.chats import assign, new_chat
from tests.web.conftest import Browser, panel_login
from zapcrm.db import Database
from zapcrm.models import Role

BRT = ZoneInfo("America/Sao_Paulo")


async def test_an_agent_schedules_sees_and_cancels_from_the_chat(
    client: httpx.AsyncClient, new_browser: Browser, db: Database, factory: Factory
) -> None:
    chat = await new_chat(client, db, factory, "SCHEDPAGE-1")
    operator = await factory.user(chat.instance.company_id, Role.OPERATOR)
    await assign(db, chat.conversation_id, operator.id)
    http = await new_browser()
    csrf = await panel_login(http, operator)
    page = (await http.get(f"/panel/inbox/{chat.conversation_id}")).text
    box_url = f"/panel/conversations/{chat.conversation_id}/scheduled"
    assert f'hx-get="{box_url}" hx-trigger="load"' in page
    box = (await http.get(box_url)).text
    assert 'name="when"' in box
    assert "scheduled-list" not in box

    tomorrow = (datetime.now(UTC).astimezone(BRT) + timedelta(days=1)).replace(
        hour=9, minute=30, second=0, microsecond=0
    )
    headers = {"X-CSRF-Token": csrf, "HX-Request": "true"}
    done = await http.post(
        box_url,
        data={"text": "Lembrete <b>amanhã</b>", "when": tomorrow.strftime("%Y-%m-%dT%H:%M")},
        headers=headers,
    )
    assert done.status_code == 200, done.text
    assert f"Agendada para {tomorrow:%d/%m/%Y} 09:30." in done.text
    assert "Lembrete &lt;b&gt;amanhã&lt;/b&gt;" in done.text
    assert "<b>amanhã</b>" not in done.text
    [row] = await rows(
        db, "select id, send_at, created_by from scheduled_messages where conversation_id = :c",
        c=chat.conversation_id,
    )  # fmt: skip
    assert (row["send_at"], row["created_by"]) == (tomorrow, operator.id)

    refused = await http.post(
        box_url,
        data={
            "text": "Atrasada",
            "when": (tomorrow - timedelta(days=3)).strftime("%Y-%m-%dT%H:%M"),
        },
        headers=headers,
    )
    assert refused.status_code == 422
    assert "Agende para daqui a pelo menos um minuto" in refused.text
    assert ">Atrasada</textarea>" in refused.text
    no_moment = await http.post(box_url, data={"text": "Sem hora", "when": ""}, headers=headers)
    assert no_moment.status_code == 422
    assert re.search(r"<p>Enviar em: [^<]+</p>", no_moment.text)

    forged = await http.post(box_url, data={"text": "x", "when": "2030-01-01T09:00"})
    assert forged.status_code == 403
    canceled = await http.post(
        f"/panel/scheduled/{row['id']}/cancel",
        data={"conversation": str(chat.conversation_id)},
        headers=headers,
    )
    assert canceled.status_code == 200
    assert "scheduled-list" not in canceled.text
    [after] = await rows(db, "select status from scheduled_messages where id = :id", id=row["id"])
    assert after["status"] == "canceled"

    colleague = await new_browser()
    await panel_login(colleague, await factory.user(chat.instance.company_id, Role.OPERATOR))
    assert (await colleague.get(box_url)).status_code == 404


async def test_the_list_looks_again_shortly_after_the_next_one_is_due_within_the_hour(
    client: httpx.AsyncClient, new_browser: Browser, db: Database, factory: Factory
) -> None:
    chat = await new_chat(client, db, factory, "SCHEDPAGE-2")
    operator = await factory.user(chat.instance.company_id, Role.OPERATOR)
    await assign(db, chat.conversation_id, operator.id)
    http = await new_browser()
    csrf = await panel_login(http, operator)
    box_url = f"/panel/conversations/{chat.conversation_id}/scheduled"
    headers = {"X-CSRF-Token": csrf, "HX-Request": "true"}
    far = (datetime.now(UTC).astimezone(BRT) + timedelta(hours=5)).strftime("%Y-%m-%dT%H:%M")
    box = (await http.post(box_url, data={"text": "Depois", "when": far}, headers=headers)).text
    assert "load delay:" not in box  # nothing due within the hour: no timer
    soon = (datetime.now(UTC).astimezone(BRT) + timedelta(minutes=30)).strftime("%Y-%m-%dT%H:%M")
    box = (await http.post(box_url, data={"text": "Logo", "when": soon}, headers=headers)).text
    delay = int(re.search(r'hx-trigger="load delay:(\d+)s"', box).group(1))  # type: ignore[union-attr]
    assert 29 * 60 <= delay <= 31 * 60 + 10
    assert 'hx-select="#scheduled-items" hx-target="#scheduled-items"' in box
