"""The import job page: a failed job offers "Tentar de novo", which queues it again through htmx
(CSRF header required) and swaps in the progress block; other jobs offer no such button."""

from __future__ import annotations

import uuid

import httpx
from sqlalchemy import text

from tests.conftest import Factory, UserFixture, identity_of, login
from tests.web.conftest import Browser, panel_login
from zapcrm.db import Database
from zapcrm.models import Role
from zapcrm.web.dependencies import PanelUser
from zapcrm.web.pages.events import PageView
from zapcrm.web.sessions import PanelSession
from zapcrm.web.views import Agents, InboxFilter

RETRY_BUTTON = "Tentar de novo"


async def _started_job(http: httpx.AsyncClient, user: UserFixture) -> str:
    headers = await login(http, user)
    files = {"file": ("clientes.csv", b"nome;telefone\nAna;11987650000\n", "text/csv")}
    uploaded = await http.post("/api/contacts/imports", files=files, headers=headers)
    assert uploaded.status_code == 201, uploaded.text
    job_id = str(uploaded.json()["id"])
    started = await http.post(
        f"/api/contacts/imports/{job_id}/start",
        json={"mapping": {"nome": "name", "telefone": "phone"}},
        headers=headers,
    )
    assert started.status_code == 202, started.text
    return job_id


async def _set_status(db: Database, job_id: str, status: str) -> None:
    async with db.service_session() as session:
        await session.execute(
            text(
                "update import_jobs set status = :status, finished_at = now(),"
                " error = case when :status = 'failed' then 'a importação falhou: teste' end"
                " where id = :id"
            ),
            {"status": status, "id": job_id},
        )


async def test_a_failed_job_page_retries_with_the_csrf_header(
    new_browser: Browser, factory: Factory, db: Database
) -> None:
    operator = await factory.user(await factory.company(), Role.OPERATOR)
    http = await new_browser()
    csrf = await panel_login(http, operator)
    job_id = await _started_job(http, operator)
    await _set_status(db, job_id, "failed")
    page = await http.get(f"/panel/contacts/import/{job_id}")
    assert page.status_code == 200
    assert RETRY_BUTTON in page.text
    assert f'hx-post="/panel/contacts/import/{job_id}/retry"' in page.text

    forged = await http.post(f"/panel/contacts/import/{job_id}/retry")
    assert forged.status_code == 403
    retried = await http.post(
        f"/panel/contacts/import/{job_id}/retry",
        headers={"X-CSRF-Token": csrf, "HX-Request": "true"},
    )
    assert retried.status_code == 200, retried.text
    assert 'id="import-progress"' in retried.text
    assert "Na fila" in retried.text
    assert RETRY_BUTTON not in retried.text

    again = await http.post(
        f"/panel/contacts/import/{job_id}/retry",
        headers={"X-CSRF-Token": csrf, "HX-Request": "true"},
    )
    assert again.status_code == 409
    assert again.headers["HX-Retarget"] == "#toast"
    # A worker of another test in this process may already have taken the queued job.
    assert (
        "Esta importação já está na fila" in again.text
        or "Esta importação está em andamento" in again.text
    )


async def test_only_failed_jobs_show_the_retry_button(
    new_browser: Browser, factory: Factory, db: Database
) -> None:
    operator = await factory.user(await factory.company(), Role.OPERATOR)
    http = await new_browser()
    await panel_login(http, operator)
    job_id = await _started_job(http, operator)
    for status in ("queued", "completed", "cancelled"):
        await _set_status(db, job_id, status)
        page = await http.get(f"/panel/contacts/import/{job_id}")
        assert page.status_code == 200
        assert RETRY_BUTTON not in page.text, status


async def test_an_open_job_page_shows_why_the_job_failed_without_reloading(
    factory: Factory,
) -> None:
    """The worker gave up on the job (issue 5): its live event replaces "Importando…"."""
    company_id = await factory.company()
    user = await factory.user(company_id, Role.OPERATOR)
    identity = identity_of(user, display_name="Ana")
    job_id = uuid.uuid4()
    view = PageView(
        PanelUser(identity, PanelSession("s", "a", "r", 0.0, "csrf")),
        InboxFilter(),
        None,
        Agents(by_id={}, active=[]),
        job_id,
    )
    reason = "a importação falhou: o banco de dados ou o Redis ficou indisponível <nas> tentativas"
    event = {
        "type": "import.progress",
        "data": {"job_id": str(job_id), "status": "failed", "total_rows": 4, "error": reason},
    }

    html = view.fragments(event)

    assert "A importação falhou" in html
    assert "Importando…" not in html
    assert "indisponível &lt;nas&gt; tentativas" in html  # escaped
    assert RETRY_BUTTON in html


async def test_a_live_progress_event_puts_each_count_in_its_place(factory: Factory) -> None:
    company_id = await factory.company()
    user = await factory.user(company_id, Role.OPERATOR)
    job_id = uuid.uuid4()
    view = PageView(
        PanelUser(identity_of(user), PanelSession("s", "a", "r", 0.0, "csrf")),
        InboxFilter(),
        None,
        Agents(by_id={}, active=[]),
        job_id,
    )
    counts = {"created": 5, "updated": 4, "skipped": 3, "failed": 2, "warned": 1}
    data = {"job_id": str(job_id), "status": "completed", "total_rows": 15, "processed_rows": 15}
    event = {"type": "import.progress", "data": {**data, **counts, "rows_per_second": 95.4}}

    html = view.fragments(event)

    for name, count in counts.items():
        assert f'<dd class="{name}">{count}</dd>' in html
    assert "linhas/s" not in html  # the speed is shown only while the import runs
    assert "Baixar linhas com problemas (CSV)" in html


async def test_an_upload_never_started_can_be_discarded_and_a_queued_import_stopped(
    new_browser: Browser, factory: Factory, db: Database
) -> None:
    operator = await factory.user(await factory.company(), Role.OPERATOR)
    http = await new_browser()
    csrf = await panel_login(http, operator)
    headers = await login(http, operator)
    files = {"file": ("esquecido.csv", b"nome;telefone\nAna;11987650000\n", "text/csv")}
    uploaded = (await http.post("/api/contacts/imports", files=files, headers=headers)).json()
    mapping = await http.get(f"/panel/contacts/import/{uploaded['id']}")
    assert 'form="discard-upload"' in mapping.text
    assert "Descartar arquivo" in mapping.text

    discarded = await http.post(
        f"/panel/contacts/import/{uploaded['id']}/cancel", data={"csrf_token": csrf}
    )
    assert discarded.status_code == 303
    assert discarded.headers["location"] == "/panel/contacts/import"
    listed = await http.get("/panel/contacts/import")
    assert "Aguardando mapeamento" not in listed.text
    assert "Cancelada" in listed.text

    job_id = await _started_job(http, operator)
    await _set_status(db, job_id, "running")
    async with db.service_session() as session:
        await session.execute(
            text("update import_jobs set finished_at = null where id = :id"), {"id": job_id}
        )
    page = await http.get(f"/panel/contacts/import/{job_id}")
    assert f'hx-post="/panel/contacts/import/{job_id}/cancel"' in page.text
    stopped = await http.post(
        f"/panel/contacts/import/{job_id}/cancel",
        headers={"X-CSRF-Token": csrf, "HX-Request": "true"},
    )
    assert stopped.status_code == 200, stopped.text
    assert "Importação cancelada" in stopped.text
    assert "Parar importação" not in stopped.text
