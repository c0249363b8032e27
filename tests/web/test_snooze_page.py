"""Snoozing from the chat header: quick moments on the company's clock and a chosen date and
time; the header says until when; a moment in the past is refused with nothing changed."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import httpx

from tests.conftest import Factory
from tests.evolution.harness import rows
from tests.web.conftest import Browser, new_company_chat, panel_login
from zapcrm.db import Database
from zapcrm.models import Role

BRT = ZoneInfo("America/Sao_Paulo")


async def test_an_agent_snoozes_a_chat_until_a_moment_on_the_companys_clock(
    new_browser: Browser, client: httpx.AsyncClient, db: Database, factory: Factory
) -> None:
    chat = await new_company_chat(client, db, factory)
    http = await new_browser()
    csrf = await panel_login(http, await factory.user(chat.instance.company_id, Role.OPERATOR))
    page = await http.get(f"/panel/inbox/{chat.conversation_id}")
    # The quick moments: in an hour, tomorrow at 09:00 (and next Monday unless that is
    # tomorrow), computed when clicked: a page open for hours still snoozes from the click.
    quick = re.findall(r'name="preset" value="([^"]+)"', page.text)
    assert quick[:2] == ["hour", "tomorrow"]
    assert len(quick) in (2, 3)
    url = f"/panel/conversations/{chat.conversation_id}/status"
    tomorrow = (datetime.now(BRT) + timedelta(days=1)).date()
    quick_snooze = await http.post(
        url, data={"status": "pending", "preset": "tomorrow"}, headers={"X-CSRF-Token": csrf}
    )
    assert f"Adiada até {tomorrow:%d/%m/%Y} 09:00" in quick_snooze.text
    unknown = await http.post(
        url, data={"status": "pending", "preset": "never"}, headers={"X-CSRF-Token": csrf}
    )
    assert unknown.status_code == 422
    when = (datetime.now(BRT) + timedelta(days=2)).replace(hour=14, minute=30, microsecond=0)
    snoozed = await http.post(
        url,
        data={"status": "pending", "until": when.strftime("%Y-%m-%dT%H:%M")},
        headers={"X-CSRF-Token": csrf},
    )
    assert snoozed.status_code == 200, snoozed.text
    assert f"Adiada até {when:%d/%m/%Y} 14:30" in snoozed.text
    [stored] = await rows(
        db,
        "select status, snoozed_until from evolution_conversations where id = :id",
        id=chat.conversation_id,
    )
    # 14:30 typed on the company's (São Paulo) clock is 17:30 UTC.
    assert stored["status"] == "pending"
    assert stored["snoozed_until"] == when.replace(second=0)
    refused = await http.post(
        url,
        data={"status": "pending", "until": "2020-01-01T09:00"},
        headers={"X-CSRF-Token": csrf},
    )
    assert refused.status_code == 422
    assert "Adie para daqui a pelo menos um minuto" in refused.text
    reopened = await http.post(url, data={"status": "open"}, headers={"X-CSRF-Token": csrf})
    assert "Adiada" not in reopened.text
    assert await rows(
        db,
        "select status, snoozed_until from evolution_conversations where id = :id",
        id=chat.conversation_id,
    ) == [{"status": "open", "snoozed_until": None}]
