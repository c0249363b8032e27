"""Leaving campaigns by answering one with a stop word."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest

from tests.campaigns.helpers import new_desk
from tests.campaigns.test_dispatch import NOW, started, step
from tests.conftest import Factory
from tests.evolution.harness import rows
from tests.web.conftest import Browser, customer_writes, panel_login
from zapcrm.campaigns.optout import is_stop_word
from zapcrm.db import Database
from zapcrm.runtime import Runtime


@pytest.mark.parametrize(
    "typed", ["SAIR", "sair", " Sair! ", "PARAR.", "Pare", "stop", "Não quero"]
)
def test_a_whole_message_stop_word_in_any_case_or_accent(typed: str) -> None:
    assert is_stop_word(typed)


@pytest.mark.parametrize(
    "typed", ["pode parar o pedido", "sair de casa", "Quero!", "", None, "sair " * 20]
)
def test_anything_else_is_not_a_stop_word(typed: str | None) -> None:
    assert not is_stop_word(typed)


async def test_a_recipient_who_answers_sair_gets_no_more_campaigns(
    client: httpx.AsyncClient,
    db: Database,
    factory: Factory,
    runtime: Runtime,
    new_browser: Browser,
) -> None:
    desk = await new_desk(db, factory)
    ana = await desk.customer("Ana", "+5511987650001")
    bruno = await desk.customer("Bruno", "+5511987650002")
    carla = await desk.customer("Carla, fora da campanha", "+5511987650003", tags=())
    await started(desk, min_gap_seconds=1, max_gap_seconds=1)
    for seconds in (1, 3):
        await step(runtime, NOW + timedelta(seconds=seconds))
    for phone, words in (
        ("5511987650001", "SAIR!"),
        ("5511987650002", "pode parar o pedido"),
        ("5511987650003", "Parar"),  # never got a campaign: a support chat, not an opt-out
    ):
        await customer_writes(client, db, desk.instance, text_body=words, phone=phone)
    found = await rows(
        db,
        "select id, opted_out from contacts where id = any(:ids)",
        ids=[ana, bruno, carla],
    )
    assert {row["id"]: row["opted_out"] for row in found} == {
        ana: True,
        bruno: False,
        carla: False,
    }
    [event] = await rows(
        db,
        "select kind, actor_id, details from contact_events"
        " where contact_id = :id and kind = 'contact.opted_out'",
        id=ana,
    )
    assert event["actor_id"] is None
    assert event["details"] == {"reply": "SAIR!"}
    http = await new_browser()
    await panel_login(http, desk.supervisor)
    page = await http.get(f"/panel/contacts/{ana}")
    timeline = page.text.split('class="timeline"', 1)[1]
    assert "Saiu das campanhas" in timeline
    assert "respondeu “SAIR!”" in timeline
    assert "Não quer receber mensagens" in page.text
