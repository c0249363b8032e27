"""Campaigns API: drafts, validation, the audience fixed at start, and the state rules."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import text

from tests.campaigns.helpers import PROMO, create, new_desk
from tests.conftest import Factory, login
from zapcrm.campaigns.dispatch import dispatch_due
from zapcrm.db import Database
from zapcrm.runtime import Runtime


async def test_a_supervisor_plans_a_draft_that_operators_cannot_see(
    client: httpx.AsyncClient, db: Database, factory: Factory
) -> None:
    desk = await new_desk(db, factory)
    campaign = await create(client, desk)
    assert campaign["status"] == "draft"
    assert campaign["audience"]["filter"] == PROMO
    # The safe pace unless asked otherwise (crm-features.md).
    assert (campaign["min_gap_seconds"], campaign["max_gap_seconds"]) == (8, 20)
    assert (campaign["batch_size"], campaign["hourly_cap"], campaign["warmup"]) == (20, 70, True)
    assert campaign["progress"]["total"] == 0
    assert campaign["progress"]["eta_seconds"] is None
    supervisor = await login(client, desk.supervisor)
    listed = (await client.get("/api/campaigns", headers=supervisor)).json()
    assert [item["id"] for item in listed] == [campaign["id"]]
    operator = await login(client, desk.operator)
    for method, url in (
        ("GET", "/api/campaigns"),
        ("GET", f"/api/campaigns/{campaign['id']}"),
        ("POST", f"/api/campaigns/{campaign['id']}/start"),
    ):
        response = await client.request(method, url, headers=operator)
        assert response.status_code == 403, (url, response.text)
    refused = await client.post("/api/campaigns", json=desk.draft(), headers=operator)
    assert refused.status_code == 403
    body = {key: value for key, value in desk.draft().items() if key != "weekdays"}
    defaults = await client.post("/api/campaigns", json=body, headers=supervisor)
    assert defaults.json()["weekdays"] == [1, 2, 3, 4, 5, 6]  # no Sundays unless chosen


async def test_mistakes_are_named_before_anything_is_saved(
    client: httpx.AsyncClient, db: Database, factory: Factory
) -> None:
    desk = await new_desk(db, factory)
    other = await new_desk(db, factory)
    headers = await login(client, desk.supervisor)

    async def refused(**overrides: Any) -> str:
        response = await client.post(
            "/api/campaigns", json=desk.draft(**overrides), headers=headers
        )
        assert response.status_code == 422, response.text
        error = response.json()["error"]
        return " ".join([error["message"], *(f["message"] for f in error.get("fields", []))])

    assert "nome_completo" in await refused(variants=["Oi {{nome_completo}}"])
    assert "chaves sem par" in await refused(variants=["Oi {{nome}"])
    assert "vazio" in await refused(variants=["   "])
    assert await refused(variants=[])
    assert await refused(variants=["x" * 4097])
    assert "intervalo máximo" in await refused(min_gap_seconds=30, max_gap_seconds=10)
    assert "janela" in await refused(window_start="20:00", window_end="08:00")
    assert "dias da semana" in await refused(weekdays=[0, 1])
    assert "dias da semana" in await refused(weekdays=[8])
    assert await refused(weekdays=[])
    assert "não encontrado" in await refused(instance_id=str(other.instance_id))
    assert await refused(audience={"filter": {"field": "senha", "operator": "equals"}})
    assert await refused(name="  ")
    async with db.service_session() as session:
        count = await session.execute(
            text("select count(*) from campaigns where company_id = :c"), {"c": desk.company_id}
        )
        assert count.scalar_one() == 0


async def test_starting_fixes_the_audience_as_it_is_then(
    client: httpx.AsyncClient, db: Database, factory: Factory
) -> None:
    desk = await new_desk(db, factory)
    headers = await login(client, desk.supervisor)
    await desk.customer("Ana Souza", "+5511987650001")
    await desk.customer("Bruno Lima", "+5511987650002")
    await desk.customer("Carla sem promo", "+5511987650003", tags=())
    counted = await client.post(
        "/api/campaigns/audience/count", json={"filter": PROMO}, headers=headers
    )
    assert counted.json() == {"count": 2}
    campaign = await create(client, desk, headers)
    started = await client.post(f"/api/campaigns/{campaign['id']}/start", headers=headers)
    assert started.status_code == 200, started.text
    body = started.json()
    assert body["status"] == "running"
    assert body["started_at"] is not None
    assert body["progress"]["total"] == body["progress"]["pending"] == 2
    assert body["progress"]["eta_seconds"] > 0
    await desk.customer("Dora chegou depois", "+5511987650004")
    again = (await client.get(f"/api/campaigns/{campaign['id']}", headers=headers)).json()
    assert again["progress"]["total"] == 2
    people = (
        await client.get(f"/api/campaigns/{campaign['id']}/recipients", headers=headers)
    ).json()
    assert sorted(person["name"] for person in people) == ["Ana Souza", "Bruno Lima"]
    assert {person["status"] for person in people} == {"pending"}
    assert [person["position"] for person in people] == [1, 2]
    async with db.service_session() as session:
        audit = await session.execute(
            text("select action, details from audit_log where target_id = :id"),
            {"id": campaign["id"]},
        )
        assert [(action, details["recipients"]) for action, details in audit] == [
            ("campaign.started", 2)
        ]


async def test_start_refuses_a_disconnected_number_and_an_empty_audience(
    client: httpx.AsyncClient, db: Database, factory: Factory
) -> None:
    desk = await new_desk(db, factory)
    headers = await login(client, desk.supervisor)
    campaign = await create(client, desk, headers)
    nobody = await client.post(f"/api/campaigns/{campaign['id']}/start", headers=headers)
    assert nobody.status_code == 422
    assert "nenhum contato" in nobody.json()["error"]["message"]
    await desk.customer("Ana", "+5511987650001")
    await desk.set_connection("close")
    offline = await client.post(f"/api/campaigns/{campaign['id']}/start", headers=headers)
    assert offline.status_code == 409
    assert "desconectado" in offline.json()["error"]["message"]
    current = (await client.get(f"/api/campaigns/{campaign['id']}", headers=headers)).json()
    assert current["status"] == "draft"
    assert current["progress"]["total"] == 0


async def test_pause_resume_cancel_and_delete_follow_the_campaigns_state(
    client: httpx.AsyncClient, db: Database, factory: Factory
) -> None:
    desk = await new_desk(db, factory)
    headers = await login(client, desk.supervisor)
    await desk.customer("Ana", "+5511987650001")
    campaign = await create(client, desk, headers)
    url = f"/api/campaigns/{campaign['id']}"

    async def act(action: str, expected: int = 200) -> dict[str, Any]:
        response = await client.post(f"{url}/{action}", headers=headers)
        assert response.status_code == expected, (action, response.text)
        result: dict[str, Any] = response.json()
        return result

    await act("pause", 409)  # a draft is not running
    await act("start")
    paused = await act("pause")
    assert paused["status"] == "paused"
    assert "pausada por" in paused["pause_reason"]
    await act("pause", 409)
    assert (await client.delete(url, headers=headers)).status_code == 409
    resumed = await act("resume")
    assert resumed["status"] == "running"
    assert resumed["pause_reason"] is None
    cancelled = await act("cancel")
    assert cancelled["status"] == "cancelled"
    assert cancelled["finished_at"] is not None
    await act("resume", 409)
    await act("cancel", 409)
    late = await client.patch(url, json={"hourly_cap": 10}, headers=headers)
    assert late.status_code == 409
    assert (await client.delete(url, headers=headers)).status_code == 204
    assert (await client.get(url, headers=headers)).status_code == 404
    async with db.service_session() as session:
        audit = await session.execute(
            text("select action from audit_log where target_id = :id order by created_at, id"),
            {"id": campaign["id"]},
        )
        assert list(audit.scalars()) == [
            "campaign.started",
            "campaign.paused",
            "campaign.resumed",
            "campaign.cancelled",
            "campaign.deleted",
        ]


async def test_after_the_start_only_the_name_and_the_pace_change(
    client: httpx.AsyncClient, db: Database, factory: Factory
) -> None:
    desk = await new_desk(db, factory)
    headers = await login(client, desk.supervisor)
    await desk.customer("Ana", "+5511987650001")
    campaign = await create(client, desk, headers)
    url = f"/api/campaigns/{campaign['id']}"
    edited = await client.patch(url, json={"variants": ["Novo texto"]}, headers=headers)
    assert edited.status_code == 200
    assert edited.json()["variants"] == ["Novo texto"]
    await client.post(f"{url}/start", headers=headers)
    frozen = await client.patch(url, json={"variants": ["Outro"]}, headers=headers)
    assert frozen.status_code == 409
    slower = await client.patch(
        url, json={"min_gap_seconds": 30, "max_gap_seconds": 60, "name": "Natal"}, headers=headers
    )
    assert slower.status_code == 200, slower.text
    assert (slower.json()["min_gap_seconds"], slower.json()["name"]) == (30, "Natal")
    # Checked against what is stored: a minimum over the stored maximum is refused.
    crossed = await client.patch(url, json={"min_gap_seconds": 90}, headers=headers)
    assert crossed.status_code == 422
    assert "intervalo máximo" in crossed.json()["error"]["message"]
    blank = await client.patch(url, json={"name": None}, headers=headers)
    assert blank.status_code == 422


async def test_every_pacing_problem_is_named_by_its_field_in_one_answer(
    client: httpx.AsyncClient, db: Database, factory: Factory
) -> None:
    """A new campaign's pace and a change checked against what is stored: all the problems
    at once, each by the field it is about."""
    desk = await new_desk(db, factory)
    headers = await login(client, desk.supervisor)
    crossed = {
        "min_gap_seconds": 30,
        "max_gap_seconds": 10,
        "batch_pause_min_seconds": 120,
        "batch_pause_max_seconds": 60,
        "window_start": "20:00",
        "window_end": "08:00",
        "weekdays": [8],
    }
    refused = await client.post("/api/campaigns", json=desk.draft(**crossed), headers=headers)
    assert refused.status_code == 422
    fields = {item["field"] for item in refused.json()["error"]["fields"]}
    assert fields == {"max_gap_seconds", "batch_pause_max_seconds", "window_end", "weekdays"}

    campaign = await create(client, desk, headers)
    url = f"/api/campaigns/{campaign['id']}"
    # Each value alone, against the stored other side (8-20 s, 60-120 s, 00:00-23:59:59).
    alone = await client.patch(
        url,
        json={"min_gap_seconds": 30, "batch_pause_min_seconds": 500, "window_start": "23:59:59"},
        headers=headers,
    )
    assert alone.status_code == 422
    error = alone.json()["error"]
    assert error["message"] == "o ritmo de envio tem 3 problemas"
    assert [item["field"] for item in error["fields"]] == [
        "max_gap_seconds",
        "batch_pause_max_seconds",
        "window_end",
    ]
    one = await client.patch(url, json={"window_end": "00:00"}, headers=headers)
    assert one.json()["error"]["message"] == "a janela de envio termina antes de começar"


async def test_a_campaign_scheduled_for_later_sends_nothing_until_then(
    client: httpx.AsyncClient, db: Database, factory: Factory, runtime: Runtime
) -> None:
    desk = await new_desk(db, factory)
    headers = await login(client, desk.supervisor)
    await desk.customer("Ana", "+5511987650001")
    campaign = await create(client, desk, headers)
    url = f"/api/campaigns/{campaign['id']}"
    naive = await client.post(f"{url}/start", json={"at": "2030-01-01T09:00:00"}, headers=headers)
    assert naive.status_code == 422
    assert "fuso" in naive.json()["error"]["message"]
    far = datetime.now(UTC) + timedelta(days=91)
    too_far = await client.post(f"{url}/start", json={"at": far.isoformat()}, headers=headers)
    assert too_far.status_code == 422
    assert (await client.get(url, headers=headers)).json()["status"] == "draft"
    at = (datetime.now(UTC) + timedelta(days=1)).replace(microsecond=0)
    scheduled = await client.post(f"{url}/start", json={"at": at.isoformat()}, headers=headers)
    assert scheduled.status_code == 200, scheduled.text
    assert scheduled.json()["status"] == "running"
    assert datetime.fromisoformat(scheduled.json()["next_send_at"]) == at
    await dispatch_due(runtime, now=datetime.now(UTC))
    assert (await client.get(url, headers=headers)).json()["progress"]["pending"] == 1
    # A pause and a resume before the time keep the schedule.
    await client.post(f"{url}/pause", headers=headers)
    resumed = await client.post(f"{url}/resume", headers=headers)
    assert datetime.fromisoformat(resumed.json()["next_send_at"]) == at
    async with db.service_session() as session:
        audit = await session.execute(
            text("select details from audit_log where target_id = :id and action = :a"),
            {"id": campaign["id"], "a": "campaign.started"},
        )
        assert audit.scalar_one()["scheduled_for"] == at.isoformat()


async def test_a_time_already_past_starts_the_campaign_now(
    client: httpx.AsyncClient, db: Database, factory: Factory
) -> None:
    desk = await new_desk(db, factory)
    headers = await login(client, desk.supervisor)
    await desk.customer("Ana", "+5511987650001")
    campaign = await create(client, desk, headers)
    before = datetime.now(UTC)
    past = (before - timedelta(hours=2)).isoformat()
    started = await client.post(
        f"/api/campaigns/{campaign['id']}/start", json={"at": past}, headers=headers
    )
    assert started.status_code == 200, started.text
    assert datetime.fromisoformat(started.json()["next_send_at"]) >= before


async def test_the_recipients_download_as_a_spreadsheet(
    client: httpx.AsyncClient, db: Database, factory: Factory, runtime: Runtime
) -> None:
    desk = await new_desk(db, factory)
    headers = await login(client, desk.supervisor)
    await desk.customer("=HYPERLINK(1)", "+5511987650001")
    await desk.customer("Bruno", None)
    campaign = await create(client, desk, headers, variants=["Oi {{primeiro_nome|cliente}}!"])
    url = f"/api/campaigns/{campaign['id']}"
    await client.post(f"{url}/start", headers=headers)
    for later in (timedelta(seconds=1), timedelta(hours=1)):  # whatever the order, both done
        await dispatch_due(runtime, now=datetime.now(UTC) + later)
    response = await client.get(f"{url}/recipients.csv", headers=headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv")
    assert 'filename="campanha-' in response.headers["content-disposition"]
    assert response.content.startswith("\ufeff".encode())
    records = response.content.decode("utf-8-sig").split("\r\n")
    assert records[0] == (
        "Posição;Nome;Telefone;Situação;Motivo;Variação do texto;Enviada em;Respondeu"
    )
    rows = sorted(record.split(";") for record in records[1:] if record)
    by_name = {row[1]: row for row in rows}
    sent = by_name["'=HYPERLINK(1)"]  # a formula is neutralised
    assert sent[2:4] == ["'+5511987650001", "Na fila"]
    assert sent[5] == "1"
    # São Paulo time, as Excel pt-BR reads a date.
    assert re.fullmatch(r"\d\d/\d\d/\d{4} \d\d:\d\d:\d\d", sent[6])
    assert by_name["Bruno"][3:5] == [
        "Ignorado",
        "o contato não tem telefone nem conversa neste número",
    ]
    operator = await login(client, desk.operator)
    assert (await client.get(f"{url}/recipients.csv", headers=operator)).status_code == 403
    other = await new_desk(db, factory)
    stranger = await login(client, other.supervisor)
    assert (await client.get(f"{url}/recipients.csv", headers=stranger)).status_code == 404


async def test_a_campaign_is_duplicated_into_a_new_draft(
    client: httpx.AsyncClient, db: Database, factory: Factory
) -> None:
    desk = await new_desk(db, factory)
    headers = await login(client, desk.supervisor)
    await desk.customer("Ana", "+5511987650001")
    original = await create(client, desk, headers, hourly_cap=40, weekdays=[1, 3])
    await client.post(f"/api/campaigns/{original['id']}/start", headers=headers)
    copied = await client.post(f"/api/campaigns/{original['id']}/duplicate", headers=headers)
    assert copied.status_code == 201, copied.text
    body = copied.json()
    assert body["id"] != original["id"]
    assert body["name"] == "Cópia de Promoção de Natal"
    assert body["status"] == "draft"
    assert body["progress"]["total"] == 0
    for field in ("instance_id", "audience", "variants", "hourly_cap", "weekdays", "window_end"):
        assert body[field] == original[field], field
    operator = await login(client, desk.operator)
    url = f"/api/campaigns/{original['id']}/duplicate"
    assert (await client.post(url, headers=operator)).status_code == 403
    stranger = await login(client, (await new_desk(db, factory)).supervisor)
    assert (await client.post(url, headers=stranger)).status_code == 404
