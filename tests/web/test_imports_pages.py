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
        "esta importação já está na fila" in again.text
        or "esta importação está em andamento" in again.text
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
