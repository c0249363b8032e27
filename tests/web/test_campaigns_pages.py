"""Campaign pages: supervisors plan a draft through the form (live audience count, text preview,
errors next to the field with the typed text kept), start, pause, resume, cancel and delete it
from its page, and read its recipients by status; operators see neither pages nor link."""

from __future__ import annotations

import random
import re
import uuid
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any
from zoneinfo import ZoneInfo

import httpx
from sqlalchemy import text

from tests.campaigns.helpers import (
    PROMO,
    Desk,
    campaigns_end_with_the_test,  # noqa: F401 - autouse fixture
    new_desk,
)
from tests.conftest import Factory, identity_of
from tests.evolution.harness import rows
from tests.web.conftest import Browser, panel_login
from zapcrm.campaigns import service
from zapcrm.campaigns.dispatch import dispatch_due
from zapcrm.campaigns.schemas import CampaignIn, CampaignProgress
from zapcrm.config import load_settings
from zapcrm.db import Database
from zapcrm.evolution.credentials import CredentialBox
from zapcrm.evolution.instances import register_instance
from zapcrm.runtime import Runtime
from zapcrm.web.i18n import use_locale
from zapcrm.web.templating import render_macro

NOW = datetime.now(UTC).replace(microsecond=0)
HTMX = {"HX-Request": "true"}


async def draft(desk: Desk, **overrides: Any) -> uuid.UUID:
    """A draft to the desk's `promo` customers, planned through the service."""
    identity = identity_of(desk.supervisor)
    async with desk.db.tenant_session(identity.claims) as session:
        campaign = await service.create_campaign(
            session, identity, CampaignIn.model_validate(desk.draft(**overrides))
        )
    return campaign.id


async def supervisor_panel(new_browser: Browser, desk: Desk) -> tuple[httpx.AsyncClient, str]:
    http = await new_browser()
    return http, await panel_login(http, desk.supervisor)


def form_of(desk: Desk, csrf: str, **fields: Any) -> dict[str, Any]:
    """The new-campaign form as a browser posts it (the pace left as the page filled it)."""
    return {
        "csrf_token": csrf,
        "name": "Volta às aulas",
        "instance_id": str(desk.instance_id),
        "segment_id": "",
        "q": "",
        "variant": ["Olá {{primeiro_nome|cliente}}, tudo pronto?"],
        "min_gap_seconds": "8",
        "max_gap_seconds": "20",
        "batch_size": "20",
        "batch_pause_min_seconds": "60",
        "batch_pause_max_seconds": "120",
        "hourly_cap": "70",
        "daily_cap": "300",
        "warmup": "on",
        "window_start": "08:00",
        "window_end": "20:00",
        "weekdays": ["1", "2", "3", "4", "5", "6"],
        "max_consecutive_failures": "5",
    } | fields


def recipient_names(page: str) -> list[str]:
    """The first cell of each recipient row, in table order."""
    return re.findall(r'<tr class="recipient recipient-\w+"[^>]*>\s*<td>([^<]*)</td>', page)


async def _started(
    new_browser: Browser, desk: Desk, runtime: Runtime, rounds: int
) -> tuple[uuid.UUID, httpx.AsyncClient]:
    """A one-second-gap draft to the desk's customers, started from the panel and dispatched
    `rounds` times (each two seconds after the last): its id and the supervisor's browser."""
    campaign_id = await draft(desk, min_gap_seconds=1, max_gap_seconds=1)
    http, csrf = await supervisor_panel(new_browser, desk)
    started = await http.post(f"/panel/campaigns/{campaign_id}/start", data={"csrf_token": csrf})
    assert started.status_code == 303
    at = datetime.now(UTC) + timedelta(seconds=1)
    for _ in range(rounds):
        await dispatch_due(runtime, now=at, rng=random.Random(1))
        at += timedelta(seconds=2)
    return campaign_id, http


async def test_a_supervisor_plans_a_draft_through_the_form_and_finds_it_in_the_list(
    new_browser: Browser, db: Database, factory: Factory
) -> None:
    desk = await new_desk(db, factory)
    await desk.customer("Ana Lima", "+5511987650001")
    await desk.customer("Bruno Reis", "+5511987650002", tags=())
    http, csrf = await supervisor_panel(new_browser, desk)

    empty = await http.get("/panel/campaigns")
    assert empty.status_code == 200
    assert '<a href="/panel/campaigns" aria-current="page">Campanhas</a>' in empty.text
    assert "Nenhuma campanha ainda." in empty.text
    assert 'href="/panel/campaigns/new"' in empty.text

    new = await http.get("/panel/campaigns/new")
    assert new.status_code == 200
    # The company's only number comes chosen.
    assert f'<option value="{desk.instance_id}" selected>' in new.text
    assert '<option value="">Todos os contatos</option>' in new.text
    assert ">2 contatos</output>" in new.text  # everybody, before any narrowing
    for name, value in (("min_gap_seconds", "8"), ("hourly_cap", "70"), ("window_end", "20:00")):
        assert re.search(rf'name="{name}"[^>]* value="{value}"', new.text), name
    assert "<summary>Ritmo de envio</summary>" in new.text
    assert "<code>{{primeiro_nome}}</code>" in new.text

    created = await http.post(
        "/panel/campaigns/new",
        data=form_of(desk, csrf, q="Ana", variant=["Oi {{nome}}!", "Olá {{primeiro_nome}}!", ""]),
    )
    assert created.status_code == 303, created.text
    campaign_id = created.headers["location"].rsplit("/", 1)[1]
    stored = await rows(
        db,
        "select name, status, audience, variants, hourly_cap, warmup, created_by"
        " from campaigns where id = :id",
        id=campaign_id,
    )
    assert stored == [
        {
            "name": "Volta às aulas",
            "status": "draft",
            "audience": {"q": "Ana"},
            "variants": ["Oi {{nome}}!", "Olá {{primeiro_nome}}!"],  # the empty third dropped
            "hourly_cap": 70,
            "warmup": True,
            "created_by": desk.supervisor.id,
        }
    ]

    page = await http.get(created.headers["location"])
    assert page.status_code == 200
    assert '<h1 class="campaign-name">Volta às aulas</h1>' in page.text
    assert "Rascunho" in page.text
    assert 'hx-confirm="Enviar para 1 contato?"' in page.text
    assert "hx-trigger" not in page.text.split('id="campaign-state"', 1)[1].split(">", 1)[0]
    assert "busca “Ana”" in page.text
    listed = await http.get("/panel/campaigns")
    assert f'<a href="/panel/campaigns/{campaign_id}">Volta às aulas</a>' in listed.text
    assert "status-draft" in listed.text
    assert "Nenhuma campanha ainda." not in listed.text


async def test_the_audience_count_the_preview_and_more_texts_follow_what_is_typed(
    new_browser: Browser, db: Database, factory: Factory
) -> None:
    desk = await new_desk(db, factory)
    await desk.customer("Ana Lima", "+5511987650001")
    await desk.customer("Bruno Reis", "+5511987650002")
    await desk.customer("Carla Dias", "+5511987650003", tags=("vip",))
    http, csrf = await supervisor_panel(new_browser, desk)
    saved = await http.post(
        "/panel/contacts/segments",
        data={"name": "Promo", "filter_json": '{"field": "tags", "operator": "contains",'
              ' "value": "promo"}'},
        headers={"X-CSRF-Token": csrf, **HTMX},
    )  # fmt: skip
    assert saved.status_code == 204, saved.text
    segment_id = saved.headers["HX-Redirect"].rsplit("=", 1)[1]

    async def count(**params: str) -> str:
        response = await http.get("/panel/campaigns/audience-count", params=params, headers=HTMX)
        assert response.status_code == 200
        return re.sub(r"<[^>]+>", "", response.text).strip()

    assert await count(segment_id="", q="") == "3 contatos"
    assert await count(segment_id=segment_id, q="") == "2 contatos"
    assert await count(segment_id=segment_id, q="Bruno") == "1 contato"
    assert await count(segment_id="", q="ninguém") == "0 contatos"
    new = await http.get("/panel/campaigns/new")
    assert f'<option value="{segment_id}">Segmento: Promo</option>' in new.text

    async def preview(first: str) -> str:
        response = await http.post(
            "/panel/campaigns/preview",
            data={"variant": [first, "Outro {{nome}}"]},
            headers={"X-CSRF-Token": csrf, **HTMX},
        )
        assert response.status_code == 200
        return response.text

    filled = await preview("Olá {{primeiro_nome|cliente}}, do {{empresa}} <b>!</b>")
    company = (await rows(db, "select name from companies where id = :c", c=desk.company_id))[0]
    assert f"Olá Maria, do {company['name']} &lt;b&gt;!&lt;/b&gt;" in filled
    assert f"Olá cliente, do {company['name']} &lt;b&gt;!&lt;/b&gt;" in filled  # no name
    assert "variável desconhecida: sobrenome" in await preview("Oi {{sobrenome}}")
    refused = await http.post("/panel/campaigns/preview", data={"variant": ["Oi"]}, headers=HTMX)
    assert refused.status_code == 403  # a POST like any other: the session's token or nothing

    second = await http.get("/panel/campaigns/variant", params={"index": "2"}, headers=HTMX)
    assert 'id="f-variant-2" name="variant"' in second.text
    assert re.search(r'id="add-variant" name="index" value="3"[^>]*hx-swap-oob="true"', second.text)
    last = await http.get("/panel/campaigns/variant", params={"index": "10"}, headers=HTMX)
    assert re.search(r'id="add-variant"[^>]* value="11"[^>]* hidden', last.text)


async def test_a_refused_form_names_each_mistake_and_keeps_what_was_typed(
    new_browser: Browser, db: Database, factory: Factory
) -> None:
    desk = await new_desk(db, factory)
    http, csrf = await supervisor_panel(new_browser, desk)
    typed = form_of(
        desk,
        csrf,
        name="Natal <script>alert(1)</script>",
        q="Ana",
        variant=["Oi {{primeiro_nome}}, tudo bem?", "Oi {{sobrenome}} <b>promo</b>"],
        hourly_cap="50",
    )
    response = await http.post("/panel/campaigns/new", data=typed)
    assert response.status_code == 422
    page = response.text
    assert "Confira os campos destacados." in page
    error = re.search(r'<p class="field-error" id="variant-2-error">([^<]+)</p>', page)
    assert error, page
    assert error.group(1).startswith("variável desconhecida: sobrenome")
    assert ">Oi {{sobrenome}} &lt;b&gt;promo&lt;/b&gt;</textarea>" in page
    assert ">Oi {{primeiro_nome}}, tudo bem?</textarea>" in page
    assert 'value="Natal &lt;script&gt;alert(1)&lt;/script&gt;"' in page
    assert "<script>alert(1)" not in page
    assert re.search(r'name="hourly_cap"[^>]* value="50"', page)
    assert re.search(r'name="q"[^>]* value="Ana"', page)
    assert f'<option value="{desk.instance_id}" selected>' in page

    closed = await http.post(
        "/panel/campaigns/new", data=form_of(desk, csrf, window_start="20:00", window_end="08:00")
    )
    assert closed.status_code == 422
    # By its field (it was the form's alert: pacing problems came one at a time).
    window_end = '<p class="field-error" id="window_end-error">a janela de envio termina antes'
    assert window_end + " de começar</p>" in closed.text
    assert re.search(r'name="window_end" type="time" value="08:00" aria-invalid', closed.text)
    assert '<details class="card pacing" open>' in closed.text
    unknown = await http.post(
        "/panel/campaigns/new", data=form_of(desk, csrf, instance_id=str(uuid.uuid4()))
    )
    assert unknown.status_code == 422
    assert '<p class="field-error" id="instance_id-error">não encontrado</p>' in unknown.text
    created = await rows(db, "select id from campaigns where company_id = :c", c=desk.company_id)
    assert created == []


async def test_start_pause_resume_cancel_and_delete_post_with_the_token_and_change_the_state(
    new_browser: Browser, db: Database, factory: Factory
) -> None:
    desk = await new_desk(db, factory)
    await desk.customer("Ana Lima", "+5511987650001")
    await desk.customer("Bruno Reis", "+5511987650002")
    campaign_id = await draft(desk, name="Natal <script>alert(1)</script>")
    http, csrf = await supervisor_panel(new_browser, desk)
    url = f"/panel/campaigns/{campaign_id}"

    page = (await http.get(url)).text
    assert '<h1 class="campaign-name">Natal &lt;script&gt;alert(1)&lt;/script&gt;</h1>' in page
    assert "<script>alert(1)" not in page
    assert f'action="{url}/start"' in page
    assert 'hx-confirm="Enviar para 2 contatos?"' in page
    assert (await http.post(f"{url}/start", headers=HTMX)).status_code == 403
    assert (await rows(db, "select status from campaigns where id = :id", id=campaign_id)) == [
        {"status": "draft"}
    ]

    started = await http.post(f"{url}/start", headers={"X-CSRF-Token": csrf, **HTMX})
    assert started.status_code == 204, started.text
    assert started.headers["HX-Redirect"] == url
    running = (await http.get(url)).text
    assert "status-running" in running
    assert "Enviando" in running
    assert f'hx-get="{url}/progress" hx-trigger="every 5s"' in running
    assert "<strong>0</strong> de 2 destinatários" in running
    assert "faltam cerca de" in running
    assert "Primeiro envio:" in running  # nothing sent yet
    assert f'action="{url}/pause"' in running
    assert f'action="{url}/start"' not in running
    assert len(recipient_names(running)) == 2
    block = await http.get(f"{url}/progress", headers=HTMX)
    assert block.text.lstrip().startswith('<section id="campaign-state"')
    assert 'hx-trigger="every 5s"' in block.text

    paused = await http.post(f"{url}/pause", data={"csrf_token": csrf})  # a plain form post
    assert paused.status_code == 303
    assert paused.headers["location"] == url
    page = (await http.get(url)).text
    assert "status-paused" in page
    # Paused by hand is a notice, not an alert (it was "Pausada: pausada por ..." in red).
    assert re.search(
        r'<p class="notice neutral pause-reason" role="status">Pausada por [^<]+\.</p>', page
    )
    assert "Pausada:" not in page
    home = (await http.get("/panel/")).text  # Início lists it the same way
    assert re.search(r'<p class="notice neutral pause-reason" role="status">Pausada por ', home)
    assert "Pausada:" not in home
    # Stored with its template and parameters: the English reader reads it in English.
    await http.get("/panel/lang/en")
    assert "Paused by " in (await http.get(url)).text
    await http.get("/panel/lang/pt_BR")
    api = await rows(db, "select pause_reason from campaigns where id = :id", id=campaign_id)
    assert api[0]["pause_reason"]["template"] == "pausada por {name}"
    assert f'action="{url}/resume"' in page
    assert "hx-trigger" not in page.split('id="campaign-state"', 1)[1].split(">", 1)[0]

    resumed = await http.post(f"{url}/resume", headers={"X-CSRF-Token": csrf, **HTMX})
    assert resumed.status_code == 204
    assert "status-running" in (await http.get(url)).text
    cancelled = await http.post(f"{url}/cancel", headers={"X-CSRF-Token": csrf, **HTMX})
    assert cancelled.status_code == 204
    page = (await http.get(url)).text
    assert "status-cancelled" in page
    assert "<dt>Não enviados</dt>" in page  # no longer "Aguardando": nothing will go
    assert f'action="{url}/delete"' in page
    assert f'href="{url}/edit"' not in page
    again = await http.post(f"{url}/resume", headers={"X-CSRF-Token": csrf, **HTMX})
    assert again.status_code == 409
    assert again.headers["HX-Retarget"] == "#toast"
    assert "Só uma campanha pausada pode ser retomada" in again.text
    assert (await http.post(f"{url}/launch", headers={"X-CSRF-Token": csrf})).status_code == 422

    deleted = await http.post(f"{url}/delete", headers={"X-CSRF-Token": csrf, **HTMX})
    assert deleted.headers["HX-Redirect"] == "/panel/campaigns"
    assert (await http.get(url)).status_code == 404
    assert "Nenhuma campanha ainda." in (await http.get("/panel/campaigns")).text


async def test_a_draft_scheduled_from_its_page_starts_at_that_time_in_the_companys_zone(
    new_browser: Browser, db: Database, factory: Factory
) -> None:
    desk = await new_desk(db, factory)
    await desk.customer("Ana Lima", "+5511987650001")
    campaign_id = await draft(desk)
    http, csrf = await supervisor_panel(new_browser, desk)
    url = f"/panel/campaigns/{campaign_id}"
    page = (await http.get(url)).text
    assert 'type="datetime-local" name="at"' in page
    assert 'hx-confirm="Agendar para 1 contato?"' in page
    local = (NOW + timedelta(days=2)).astimezone(ZoneInfo("America/Sao_Paulo"))
    typed = local.strftime("%Y-%m-%dT09:30")
    scheduled = await http.post(
        f"{url}/start", data={"at": typed}, headers={"X-CSRF-Token": csrf, **HTMX}
    )
    assert scheduled.status_code == 204, scheduled.text
    [row] = await rows(
        db, "select status, next_send_at from campaigns where id = :id", id=campaign_id
    )
    assert row["status"] == "running"
    # 09:30 in São Paulo is 12:30 UTC.
    assert row["next_send_at"] == local.replace(hour=9, minute=30, second=0, microsecond=0)
    assert row["next_send_at"].astimezone(UTC).hour == 12
    page = (await http.get(url)).text
    assert "Primeiro envio:" in page
    assert local.strftime("%d/%m/%Y") + " 09:30" in page


async def test_a_draft_edits_everything_and_a_started_campaign_only_its_name_and_pace(
    new_browser: Browser, db: Database, factory: Factory
) -> None:
    desk = await new_desk(db, factory)
    await desk.customer("Ana Lima", "+5511987650001")
    campaign_id = await draft(desk)
    http, csrf = await supervisor_panel(new_browser, desk)
    url = f"/panel/campaigns/{campaign_id}"

    form = (await http.get(f"{url}/edit")).text
    assert ">Olá {{primeiro_nome|cliente}}! Natal com 20% off.</textarea>" in form
    assert ">Oi {{nome}}!</textarea>" in form
    assert 'name="filter_json"' in form  # the API's filter is kept as it is
    assert re.search(r'name="window_end"[^>]* value="23:59:59" step="1"', form)
    edited = await http.post(
        f"{url}/edit",
        data=form_of(
            desk,
            csrf,
            name="Natal 2",
            filter_json='{"field": "tags", "operator": "contains", "value": "promo"}',
            variant=["Só um texto"],
            window_end="21:00",
        ),
    )
    assert edited.status_code == 303, edited.text
    stored = await rows(
        db,
        "select name, variants, audience, window_end from campaigns where id = :id",
        id=campaign_id,
    )
    assert stored[0]["name"] == "Natal 2"
    assert stored[0]["variants"] == ["Só um texto"]
    assert stored[0]["audience"] == {"filter": PROMO}
    assert stored[0]["window_end"].isoformat() == "21:00:00"

    started = await http.post(f"{url}/start", data={"csrf_token": csrf})
    assert started.status_code == 303
    form = (await http.get(f"{url}/edit")).text
    assert "só o nome e o ritmo de envio podem mudar" in form
    assert 'name="variant"' not in form
    assert 'name="instance_id"' not in form
    assert 'name="name"' in form
    assert '<details class="card pacing" open>' in form
    slower = await http.post(
        f"{url}/edit",
        data={"csrf_token": csrf, "name": "Natal devagar", "hourly_cap": "30", "warmup": "on",
              "weekdays": ["1", "3", "5"], "variant": ["ignorado depois do início"]},
    )  # fmt: skip
    assert slower.status_code == 303, slower.text
    stored = await rows(
        db,
        "select name, hourly_cap, min_gap_seconds, variants, weekdays from campaigns"
        " where id = :id",
        id=campaign_id,
    )  # fmt: skip
    assert stored == [
        {
            "name": "Natal devagar",
            "hourly_cap": 30,
            "min_gap_seconds": 8,  # not in the post: unchanged
            "variants": ["Só um texto"],
            "weekdays": [1, 3, 5],
        }
    ]
    reversed_gap = await http.post(
        f"{url}/edit",
        data={"csrf_token": csrf, "name": "Natal", "min_gap_seconds": "30",
              "max_gap_seconds": "10", "weekdays": ["1"]},
    )  # fmt: skip
    assert reversed_gap.status_code == 422
    assert (
        '<p class="field-error" id="max_gap_seconds-error">o intervalo máximo é menor que o'
        " mínimo</p>" in reversed_gap.text
    )
    assert re.search(r'name="min_gap_seconds"[^>]* value="30"', reversed_gap.text)


async def test_the_recipients_are_filtered_by_status_with_reason_reply_and_chat_link(
    new_browser: Browser, db: Database, factory: Factory, runtime: Runtime
) -> None:
    desk = await new_desk(db, factory)
    await desk.customer("Ana Lima", "+5511987650001")
    await desk.customer("<b>Bruno</b>", "+5511987650002")
    await desk.customer("Carla Dias", "+5511987650003", opted_out=True)
    await desk.customer("Davi Sem Telefone", None)
    campaign_id, http = await _started(new_browser, desk, runtime, rounds=4)
    url = f"/panel/campaigns/{campaign_id}"
    sent = {
        row["name"]: row
        for row in await rows(
            db,
            "select ct.name, m.id, m.conversation_id, m.remote_jid from campaign_recipients r"
            " join contacts ct on ct.id = r.contact_id join evolution_messages m"
            " on m.id = r.message_id where r.campaign_id = :id",
            id=campaign_id,
        )
    }
    assert set(sent) == {"Ana Lima", "<b>Bruno</b>"}
    bruno = sent["<b>Bruno</b>"]
    async with db.service_session() as session:
        await session.execute(
            text("update evolution_messages set status = 'ERROR', error_detail = 'timeout'"
                 " where id = :id"),
            {"id": sent["Ana Lima"]["id"]},
        )  # fmt: skip
        await session.execute(
            text("update evolution_messages set status = 'DELIVERY_ACK' where id = :id"),
            {"id": bruno["id"]},
        )
    await desk.reply_stored(
        bruno["conversation_id"], bruno["remote_jid"], datetime.now(UTC) + timedelta(minutes=1)
    )

    everyone = (await http.get(url)).text
    assert sorted(recipient_names(everyone)) == sorted(
        ["Ana Lima", "&lt;b&gt;Bruno&lt;/b&gt;", "Carla Dias", "Davi Sem Telefone"]
    )
    assert "<b>Bruno</b>" not in everyone
    assert '<a href="' + url + '#recipients" aria-current="page">Todos</a>' in everyone

    failed = (await http.get(url, params={"status": "failed"})).text
    assert recipient_names(failed) == ["Ana Lima"]
    assert ">Falhou</span>" in failed
    assert "<td>timeout</td>" in failed  # why the gateway refused it, from the message
    assert f'<a href="{url}?status=failed#recipients" aria-current="page">Falhou</a>' in failed
    skipped = (await http.get(url, params={"status": "skipped"})).text
    assert sorted(recipient_names(skipped)) == ["Carla Dias", "Davi Sem Telefone"]
    assert "o contato pediu para não receber mensagens" in skipped
    assert "o contato não tem telefone" in skipped
    delivered = (await http.get(url, params={"status": "delivered"})).text
    assert recipient_names(delivered) == ["&lt;b&gt;Bruno&lt;/b&gt;"]
    row = delivered.split('<tr class="recipient recipient-delivered"', 1)[1].split("</tr>", 1)[0]
    assert "+55 11 98765-0002" in row
    assert "✓ respondeu" in row
    assert f'<a href="/panel/inbox/{bruno["conversation_id"]}">abrir conversa</a>' in row
    assert "respondeu" not in failed.split("<tbody", 1)[1]
    nobody = (await http.get(url, params={"status": "read"})).text
    assert recipient_names(nobody) == []
    assert "Nenhum destinatário nesta situação." in nobody
    assert len(recipient_names((await http.get(url, params={"status": "bogus"})).text)) == 4
    assert f'href="{url}/recipients.csv" download' in everyone
    spreadsheet = await http.get(f"{url}/recipients.csv")
    assert spreadsheet.status_code == 200
    lines = spreadsheet.content.decode("utf-8-sig").split("\r\n")
    [bruno_line] = [line for line in lines if "<b>Bruno</b>" in line]
    assert ";<b>Bruno</b>;'+5511987650002;Entregue;;" in bruno_line
    assert bruno_line.endswith(";sim")  # replied
    assert len([line for line in lines if line]) == 5  # the header and the four people


async def test_a_long_recipient_list_loads_fifty_rows_at_a_time(
    new_browser: Browser, db: Database, factory: Factory
) -> None:
    desk = await new_desk(db, factory)
    async with db.service_session() as session:
        await session.execute(
            text(
                "insert into contacts (company_id, name, phone_e164, tags)"
                " select :c, 'Cliente ' || n, '+55119876' || lpad(n::text, 5, '0'), '{promo}'"
                " from generate_series(1, 55) n"
            ),
            {"c": desk.company_id},
        )
    campaign_id = await draft(desk)
    http, csrf = await supervisor_panel(new_browser, desk)
    url = f"/panel/campaigns/{campaign_id}"
    assert (await http.post(f"{url}/start", data={"csrf_token": csrf})).status_code == 303

    first = (await http.get(url)).text
    assert len(recipient_names(first)) == 50
    more = re.search(r'hx-get="(/panel/campaigns/[^"]+/recipients\?status=&amp;after=50)"', first)
    assert more, first
    rest = await http.get(more.group(1).replace("&amp;", "&"), headers=HTMX)
    assert rest.status_code == 200
    assert len(recipient_names(rest.text)) == 5
    assert "Carregar mais" not in rest.text
    assert set(recipient_names(first)).isdisjoint(recipient_names(rest.text))
    # Without JavaScript the same link opens the page from there.
    assert len(recipient_names((await http.get(url, params={"after": "50"})).text)) == 5
    # The running campaign's table reads the rows it shows again; each answer says how many.
    assert 'id="recipients-shown" name="rows" value="50"' in first
    assert 'hx-trigger="every 5s" hx-include="#recipients-shown"' in first
    counted = await http.get(more.group(1).replace("&amp;", "&") + "&rows=50", headers=HTMX)
    assert '<input type="hidden" id="recipients-shown" name="rows" value="55"' in counted.text
    again = await http.get(f"{url}/recipients", params={"status": "", "rows": "55"}, headers=HTMX)
    assert len(recipient_names(again.text)) == 55
    assert "Carregar mais" not in again.text
    assert 'value="55" hx-swap-oob="true"' in again.text
    too_many = await http.get(f"{url}/recipients", params={"rows": "5000"}, headers=HTMX)
    assert too_many.status_code == 422


async def test_operators_have_neither_the_pages_nor_the_link(
    new_browser: Browser, db: Database, factory: Factory
) -> None:
    desk = await new_desk(db, factory)
    campaign_id = await draft(desk)
    http = await new_browser()
    csrf = await panel_login(http, desk.operator)
    home = (await http.get("/panel/")).text
    assert "/panel/tasks" in home
    assert "/panel/campaigns" not in home
    url = f"/panel/campaigns/{campaign_id}"
    for path in ("/panel/campaigns", "/panel/campaigns/new", url, f"{url}/edit", f"{url}/progress"):
        assert (await http.get(path)).status_code == 404, path
    for path in (f"{url}/start", f"{url}/delete", "/panel/campaigns/new"):
        response = await http.post(path, headers={"X-CSRF-Token": csrf})
        assert response.status_code == 404, path
    assert (await rows(db, "select status from campaigns where id = :id", id=campaign_id)) == [
        {"status": "draft"}
    ]
    supervisor, _ = await supervisor_panel(new_browser, desk)
    assert 'href="/panel/campaigns"' in (await supervisor.get("/panel/")).text


async def test_another_companys_campaign_is_not_found(
    new_browser: Browser, db: Database, factory: Factory
) -> None:
    campaign_id = await draft(await new_desk(db, factory))
    stranger, csrf = await supervisor_panel(new_browser, await new_desk(db, factory))
    url = f"/panel/campaigns/{campaign_id}"
    assert (await stranger.get(url)).status_code == 404
    assert (await stranger.post(f"{url}/start", headers={"X-CSRF-Token": csrf})).status_code == 404


async def test_the_pages_read_in_english_when_the_reader_chose_english(
    new_browser: Browser, db: Database, factory: Factory
) -> None:
    desk = await new_desk(db, factory)
    campaign_id = await draft(desk)
    http, _ = await supervisor_panel(new_browser, desk)
    await http.get("/panel/lang/en")
    listed = (await http.get("/panel/campaigns")).text
    assert '<a href="/panel/campaigns" aria-current="page">Campaigns</a>' in listed
    assert "New campaign" in listed
    assert ">Draft</span>" in listed
    page = (await http.get(f"/panel/campaigns/{campaign_id}")).text
    assert 'hx-confirm="Send to 0 contacts?"' in page
    assert "Sending pace" in page
    form = (await http.get("/panel/campaigns/new")).text
    assert "Sending pace" in form
    assert "All contacts" in form


async def test_the_days_it_sends_on_are_chosen_with_boxes_and_at_least_one_is_needed(
    new_browser: Browser, db: Database, factory: Factory
) -> None:
    desk = await new_desk(db, factory)
    http, csrf = await supervisor_panel(new_browser, desk)
    form = (await http.get("/panel/campaigns/new")).text
    for day in range(1, 7):
        assert f'name="weekdays" value="{day}" checked' in form
    assert 'name="weekdays" value="7">' in form  # no Sunday unless chosen
    refused = await http.post("/panel/campaigns/new", data=form_of(desk, csrf, weekdays=[]))
    assert refused.status_code == 422
    assert 'id="weekdays-error"' in refused.text
    assert 'name="weekdays" value="1" checked' not in refused.text  # as it was typed
    saved = await http.post("/panel/campaigns/new", data=form_of(desk, csrf, weekdays=["6", "7"]))
    assert saved.status_code == 303
    page = (await http.get(saved.headers["location"])).text
    assert "sáb, dom" in page
    [stored] = await rows(
        db, "select weekdays from campaigns where company_id = :c", c=desk.company_id
    )
    assert stored["weekdays"] == [6, 7]


async def test_the_list_counts_each_message_at_every_step_it_reached(
    new_browser: Browser, db: Database, factory: Factory, runtime: Runtime
) -> None:
    desk = await new_desk(db, factory)
    await desk.customer("Ana Lima", "+5511987650001")
    await desk.customer("Bruno Reis", "+5511987650002")
    campaign_id, http = await _started(new_browser, desk, runtime, rounds=2)
    async with db.service_session() as session:
        await session.execute(
            text(
                "update evolution_messages m set status = case when r.position = 1"
                " then 'DELIVERY_ACK' else 'READ' end from campaign_recipients r"
                " where r.message_id = m.id and r.campaign_id = :id"
            ),
            {"id": campaign_id},
        )
    page = (await http.get("/panel/campaigns")).text
    figures = page.split('class="campaign-figures"', 1)[1].split("</dl>", 1)[0]
    found = dict(re.findall(r"<dt>([^<]+)</dt><dd>(\d+)</dd>", figures))
    assert found == {
        "Enviadas": "2",
        "Entregues": "2",
        "Lidas": "1",
        "Falharam": "0",
        "Responderam": "0",
    }


async def test_duplicar_opens_the_copy_in_its_form(
    new_browser: Browser, db: Database, factory: Factory
) -> None:
    desk = await new_desk(db, factory)
    campaign_id = await draft(desk, name="Dia das Mães")
    http, csrf = await supervisor_panel(new_browser, desk)
    page = (await http.get(f"/panel/campaigns/{campaign_id}")).text
    assert f'action="/panel/campaigns/{campaign_id}/duplicate"' in page
    copied = await http.post(
        f"/panel/campaigns/{campaign_id}/duplicate", headers={"X-CSRF-Token": csrf, **HTMX}
    )
    assert copied.status_code == 204
    target = copied.headers["HX-Redirect"]
    assert target.endswith("/edit")
    assert str(campaign_id) not in target
    form = (await http.get(target)).text
    assert 'value="Cópia de Dia das Mães"' in form


async def test_a_campaign_to_a_list_can_follow_it_and_says_so(
    new_browser: Browser, db: Database, factory: Factory
) -> None:
    desk = await new_desk(db, factory)
    await desk.customer("Ana Lima", "+5511987650001")
    [welcome] = await rows(
        db,
        "insert into segments (company_id, name, kind) values (:c, 'Novos do site', 'static')"
        " returning id",
        c=desk.company_id,
    )
    http, csrf = await supervisor_panel(new_browser, desk)
    assert (
        "Enviar também a quem entrar na lista depois do início"
        in (await http.get("/panel/campaigns/new")).text
    )

    refused = await http.post(
        "/panel/campaigns/new", data=form_of(desk, csrf, follows_list="on")
    )  # everybody is not a list
    assert refused.status_code == 422
    assert "escolha uma lista estática como público, sem busca nem filtro" in refused.text
    assert 'id="f-follows_list" name="follows_list" type="checkbox" checked' in refused.text

    created = await http.post(
        "/panel/campaigns/new",
        data=form_of(desk, csrf, segment_id=str(welcome["id"]), follows_list="on"),
    )
    assert created.status_code == 303, created.text
    campaign_id = created.headers["location"].rsplit("/", 1)[1]
    stored = await rows(db, "select follows_list from campaigns where id = :id", id=campaign_id)
    assert stored == [{"follows_list": True}]
    page = (await http.get(created.headers["location"])).text
    assert "Segmento: Novos do site · segue a lista: quem entrar depois também recebe" in page
    assert "quem entrar na lista também recebe. Na lista agora: 0 contatos hoje." in page
    edit = (await http.get(f"{created.headers['location']}/edit")).text
    assert 'id="f-follows_list" name="follows_list" type="checkbox" checked' in edit
    # Nobody on the list yet: it starts all the same and waits for them.
    started = await http.post(
        f"{created.headers['location']}/start", headers={"X-CSRF-Token": csrf, **HTMX}
    )
    assert started.status_code == 204, started.text
    assert "À espera de quem entrar na lista" in (await http.get(created.headers["location"])).text


async def test_a_finished_campaign_says_when_its_messages_failed(
    new_browser: Browser, db: Database, factory: Factory, runtime: Runtime
) -> None:
    desk = await new_desk(db, factory)
    await desk.customer("Ana Lima", "+5511987650001")
    await desk.customer("Bruno Reis", "+5511987650002")
    campaign_id, http = await _started(new_browser, desk, runtime, rounds=3)
    url = f"/panel/campaigns/{campaign_id}"
    # The gateway refused both: neither number is on WhatsApp.
    async with db.service_session() as session:
        await session.execute(
            text(
                "update evolution_messages m set status = 'ERROR', error_detail ="
                " 'este número não está no WhatsApp' from campaign_recipients r"
                " where r.message_id = m.id and r.campaign_id = :id"
            ),
            {"id": campaign_id},
        )
    page = (await http.get(url)).text
    assert 'class="pill campaign-status status-nothing_sent">Nenhuma mensagem enviada<' in page
    assert '<progress class="outcome-nothing_sent"' in page
    assert ">Concluída<" not in page
    assert page.count("este número não está no WhatsApp") == 2
    assert re.search(r"Das \d\d:\d\d às \d\d:\d\d \(Horário de Brasília\)", page)
    # Their chats hold only the failure: nothing to open.
    assert "abrir conversa" not in page.split('id="recipient-rows"', 1)[1]
    listed = (await http.get("/panel/campaigns")).text
    assert 'status-nothing_sent">Nenhuma mensagem enviada<' in listed
    assert '<progress class="outcome-nothing_sent"' in listed

    async with db.service_session() as session:
        await session.execute(
            text(
                "update evolution_messages m set status = 'DELIVERY_ACK', error_detail = null"
                " from campaign_recipients r where r.message_id = m.id"
                " and r.campaign_id = :id and r.position = 1"
            ),
            {"id": campaign_id},
        )
    page = (await http.get(url)).text
    assert 'status-completed_with_failures">Concluída com falhas<' in page
    assert '<progress class="outcome-completed_with_failures"' in page
    assert page.split('id="recipient-rows"', 1)[1].count("abrir conversa") == 1
    listed = (await http.get("/panel/campaigns")).text
    assert 'status-completed_with_failures">Concluída com falhas<' in listed


async def test_a_schedule_already_past_is_refused_and_the_draft_sends_nothing(
    new_browser: Browser, db: Database, factory: Factory
) -> None:
    """ "Agendar" with a mistyped month must not send to everyone now (the API's `at` in the
    past means now; the page's button means later)."""
    desk = await new_desk(db, factory)
    await desk.customer("Ana Lima", "+5511987650001")
    campaign_id = await draft(desk)
    http, csrf = await supervisor_panel(new_browser, desk)
    url = f"/panel/campaigns/{campaign_id}"
    local = (NOW - timedelta(days=3)).astimezone(ZoneInfo("America/Sao_Paulo"))
    refused = await http.post(
        f"{url}/start",
        data={"at": local.strftime("%Y-%m-%dT10:00")},
        headers={"X-CSRF-Token": csrf, **HTMX},
    )
    assert refused.status_code == 422, refused.text
    assert refused.headers["HX-Retarget"] == "#toast"
    assert "Esse horário já passou: escolha um horário futuro ou use Iniciar" in refused.text
    [row] = await rows(
        db, "select status, started_at from campaigns where id = :id", id=campaign_id
    )
    assert row == {"status": "draft", "started_at": None}
    assert (
        await rows(db, "select 1 from campaign_recipients where campaign_id = :id", id=campaign_id)
        == []
    )


async def test_a_blank_name_number_or_week_says_what_to_fill_in(
    new_browser: Browser, db: Database, factory: Factory
) -> None:
    desk = await new_desk(db, factory)
    http, csrf = await supervisor_panel(new_browser, desk)
    refused = await http.post(
        "/panel/campaigns/new",
        data=form_of(desk, csrf, name="", instance_id="", weekdays=[]),
    )
    assert refused.status_code == 422
    page = refused.text
    assert '<p class="field-error" id="name-error">dê um nome à campanha</p>' in page
    assert '<p class="field-error" id="instance_id-error">escolha o número de WhatsApp</p>' in page
    assert '<p class="field-error" id="weekdays-error">marque pelo menos um dia da semana</p>' in (
        page
    )
    for pydantic_words in ("caractere(s)", "item(ns)", "identificador inválido"):
        assert pydantic_words not in page
    spaces = await http.post("/panel/campaigns/new", data=form_of(desk, csrf, name="   "))
    assert '<p class="field-error" id="name-error">dê um nome à campanha</p>' in spaces.text


def test_progress_counts_read_as_pt_br_numbers_and_agree_with_one_recipient() -> None:
    """Thousands with a dot ("1.234", not "1234") and "de 1 destinatário" in the singular."""
    progress = CampaignProgress(
        total=1234,
        pending=1000,
        skipped=0,
        queued=0,
        sent=234,
        delivered=0,
        read=0,
        failed=0,
        replied=0,
        eta_seconds=None,
    )
    campaign = SimpleNamespace(
        id=uuid.uuid4(),
        status="running",
        outcome="running",
        follows_list=False,
        next_send_at=None,
        pause_reason=None,
        progress=progress,
    )
    with use_locale("pt_BR"):
        block = render_macro("campaigns/_parts.html", "state_block", campaign, None, "t")
        one = render_macro(
            "campaigns/_parts.html",
            "state_block",
            SimpleNamespace(
                **(
                    vars(campaign)
                    | {
                        "progress": progress.model_copy(
                            update={"total": 1, "pending": 1, "sent": 0}
                        )
                    }
                )
            ),
            None,
            "t",
        )
        draft_block = render_macro(
            "campaigns/_parts.html",
            "state_block",
            SimpleNamespace(**(vars(campaign) | {"status": "draft", "outcome": "draft"})),
            12345,
            "t",
        )
        count = render_macro("campaigns/_parts.html", "audience_count", 2500)
    assert "<strong>234</strong> de 1.234 destinatários" in block
    assert '<dd class="pending">1.000</dd>' in block
    assert "<strong>0</strong> de 1 destinatário (0%)" in one
    assert 'hx-confirm="Enviar para 12.345 contatos?"' in draft_block
    assert 'hx-confirm="Agendar para 12.345 contatos?"' in draft_block
    assert "12.345 contatos hoje." in draft_block
    assert ">2.500 contatos<" in count


async def test_the_companys_only_number_comes_chosen_and_two_numbers_ask_for_one(
    new_browser: Browser, db: Database, factory: Factory
) -> None:
    desk = await new_desk(db, factory)
    http, _ = await supervisor_panel(new_browser, desk)
    only = (await http.get("/panel/campaigns/new")).text
    assert f'<option value="{desk.instance_id}" selected>' in only
    assert "Escolha o número" not in only
    async with db.service_session() as session:
        second = await register_instance(
            session,
            company_id=desk.company_id,
            name="loja-sac",
            token=f"token-{uuid.uuid4().hex}",
            credentials=CredentialBox.from_settings(load_settings(environment="test")),
            server_url=desk.instance.server_url,
        )
    two = (await http.get("/panel/campaigns/new")).text
    assert '<option value="">Escolha o número</option>' in two
    assert f'<option value="{desk.instance_id}">' in two
    assert f'<option value="{second}">' in two


async def test_every_pacing_mistake_is_named_at_once_by_its_field_as_typed(
    new_browser: Browser, db: Database, factory: Factory
) -> None:
    """Interval, batch pause, window and a cap out of bounds, all in one answer (they came one
    at a time: fix the interval, then hear of the window, then of the pause)."""
    desk = await new_desk(db, factory)
    http, csrf = await supervisor_panel(new_browser, desk)
    typed = {
        "min_gap_seconds": "30",
        "max_gap_seconds": "10",
        "batch_pause_min_seconds": "120",
        "batch_pause_max_seconds": "60",
        "window_start": "20:00",
        "window_end": "08:00",
        "daily_cap": "0",
    }
    said = {
        "max_gap_seconds": "o intervalo máximo é menor que o mínimo",
        "batch_pause_max_seconds": "a pausa máxima entre lotes é menor que a mínima",
        "window_end": "a janela de envio termina antes de começar",
    }
    refused = await http.post("/panel/campaigns/new", data=form_of(desk, csrf, **typed))
    assert refused.status_code == 422
    page = refused.text
    assert '<p class="alert" role="alert">Confira os campos destacados.</p>' in page
    for field, message in said.items():
        assert f'<p class="field-error" id="{field}-error">{message}</p>' in page, field
    assert 'id="daily_cap-error"' in page
    for field, value in typed.items():
        assert re.search(rf'name="{field}" type="\w+"[^>]* value="{value}"', page), field
    for field in (*said, "daily_cap"):
        assert re.search(rf'name="{field}"[^>]* aria-invalid="true"', page), field
    assert await rows(db, "select id from campaigns where company_id = :c", c=desk.company_id) == []

    # A started campaign's pace, edited: the same, every mistake by its field.
    await desk.customer("Ana Lima", "+5511987650001")
    campaign_id = await draft(desk)
    url = f"/panel/campaigns/{campaign_id}"
    assert (await http.post(f"{url}/start", data={"csrf_token": csrf})).status_code == 303
    edited = await http.post(
        f"{url}/edit", data={"csrf_token": csrf, "name": "Natal", "weekdays": ["1"]} | typed
    )
    assert edited.status_code == 422
    for field, message in said.items():
        assert f'<p class="field-error" id="{field}-error">{message}</p>' in edited.text, field
    assert 'id="daily_cap-error"' in edited.text


async def test_a_number_that_disconnected_still_pauses_the_campaign_with_an_alert(
    new_browser: Browser, db: Database, factory: Factory
) -> None:
    """A pause for a problem stays an alert; only a pause by hand reads as a notice."""
    desk = await new_desk(db, factory)
    await desk.customer("Ana Lima", "+5511987650001")
    campaign_id = await draft(desk)
    http, csrf = await supervisor_panel(new_browser, desk)
    url = f"/panel/campaigns/{campaign_id}"
    assert (await http.post(f"{url}/start", data={"csrf_token": csrf})).status_code == 303
    async with db.service_session() as session:
        await session.execute(
            text(
                "update campaigns set status = 'paused', pause_reason ="
                ' \'{"template": "o número {name} desconectou", "params": {"name": "loja"}}\''
                " where id = :id"
            ),
            {"id": campaign_id},
        )
    page = (await http.get(url)).text
    assert (
        '<p class="alert pause-reason" role="alert">Pausada: o número loja desconectou</p>' in page
    )
    assert "notice neutral" not in page


async def test_started_outside_its_window_the_page_says_when_the_window_opens(
    new_browser: Browser, db: Database, factory: Factory, runtime: Runtime
) -> None:
    """The first send is the window's next opening on the company's clock (the sender waits
    for it), not the moment Iniciar was pressed."""
    desk = await new_desk(db, factory)
    await desk.customer("Ana Lima", "+5511987650001")
    local = datetime.now(ZoneInfo("America/Sao_Paulo")).replace(second=0, microsecond=0)
    if local.hour < 12:  # before noon: a window from 14:00, later today
        window, opens = ("14:00", "23:00"), local.replace(hour=14, minute=0)
    else:  # afternoon or evening: a window from 03:00, tomorrow
        window, opens = ("03:00", "10:00"), (local + timedelta(days=1)).replace(hour=3, minute=0)
    campaign_id = await draft(desk, window_start=window[0], window_end=window[1])
    http, csrf = await supervisor_panel(new_browser, desk)
    url = f"/panel/campaigns/{campaign_id}"
    assert (await http.post(f"{url}/start", data={"csrf_token": csrf})).status_code == 303
    [row] = await rows(db, "select next_send_at from campaigns where id = :id", id=campaign_id)
    assert row["next_send_at"] < datetime.now(UTC)  # due now: the sender's step moves it
    page = (await http.get(url)).text
    line = page.split('class="campaign-status-line"', 1)[1].split("</p>", 1)[0]
    assert "Primeiro envio:" in line
    assert f">{opens.strftime('%d/%m/%Y %H:%M')}</time>" in line, line
    progress = (await http.get(f"{url}/progress", headers=HTMX)).text
    assert f">{opens.strftime('%d/%m/%Y %H:%M')}</time>" in progress
    # The sender's step agrees: it moves the campaign's next send to that very moment.
    await dispatch_due(runtime)
    [row] = await rows(db, "select next_send_at from campaigns where id = :id", id=campaign_id)
    assert row["next_send_at"] == opens


async def test_the_finish_estimate_counts_the_sending_window_and_the_daily_cap(
    new_browser: Browser, db: Database, factory: Factory
) -> None:
    """Five people at two a day, in a window of the company's clock: the last goes on the
    third day the window opens, shortly after it opens, not in the minute the pace alone
    would take."""
    desk = await new_desk(db, factory)
    for n in range(5):
        await desk.customer(f"Cliente {n}", f"+551198765000{n}")
    local = datetime.now(ZoneInfo("America/Sao_Paulo"))
    if local.hour < 12:  # a window from 14:00, later today
        window, first = ("14:00", "23:00"), local.date()
    else:  # a window from 03:00, tomorrow
        window, first = ("03:00", "10:00"), local.date() + timedelta(days=1)
    campaign_id = await draft(
        desk, window_start=window[0], window_end=window[1], daily_cap=2, warmup=False
    )
    http, csrf = await supervisor_panel(new_browser, desk)
    url = f"/panel/campaigns/{campaign_id}"
    assert (await http.post(f"{url}/start", data={"csrf_token": csrf})).status_code == 303
    line = (await http.get(url)).text.split('class="progress-line"', 1)[1].split("</p>", 1)[0]
    last_day = (first + timedelta(days=2)).strftime("%d/%m/%Y")
    finish = re.search(r"término previsto: <time datetime=\"([^\"]+)\">([^<]+)</time>", line)
    assert finish, line
    # The mean gap of 8 to 20 s after the window opens: still its opening minute.
    assert finish.group(2) == f"{last_day} {window[0]}"
    assert datetime.fromisoformat(finish.group(1)) > datetime.now(UTC) + timedelta(days=1)
    assert re.search(r"faltam cerca de \d+ d \d\d h", line), line
    progress = (await http.get(f"{url}/progress", headers=HTMX)).text
    assert f">{last_day} {window[0]}</time>" in progress
    # The API's figures are the same estimate.
    identity = identity_of(desk.supervisor)
    async with db.tenant_session(identity.claims) as session:
        campaign = await service.get_campaign(session, identity, campaign_id)
    assert campaign.progress.finishes_at == datetime.fromisoformat(finish.group(1))
    assert campaign.progress.eta_seconds is not None
    assert campaign.progress.eta_seconds > 24 * 3600
