"""The WhatsApp instances admin page against the Evolution API simulator: create, QR code,
pairing, state, logout, and the gateway notice."""

from __future__ import annotations

import asyncio
import re
import uuid
from types import SimpleNamespace

import httpx
from pydantic import SecretStr

from tests.conftest import SIMULATOR_KEY, Factory
from tests.evolution.harness import rows
from tests.evolution.test_instances_admin import bare_simulator  # noqa: F401 - a fixture
from tests.web.conftest import panel_login
from zapcrm.app import create_app
from zapcrm.config import Settings
from zapcrm.db import Database
from zapcrm.models import Role
from zapcrm.web.templating import render_macro


async def test_admin_adds_pairs_and_unpairs_a_number_from_the_panel(
    bare_simulator: str,  # noqa: F811 - the imported fixture
    live_server: str,
    settings: Settings,
    db: Database,
    factory: Factory,
) -> None:
    company = await factory.company()
    admin = await factory.user(company, Role.ADMIN)
    app_settings = settings.model_copy(
        update={
            "public_base_url": live_server,
            "evolution_server_url": bare_simulator,
            "evolution_global_key": SecretStr(SIMULATOR_KEY),
        }
    )
    app = create_app(app_settings)
    name = f"loja-{uuid.uuid4().hex[:6]}"
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with (
            httpx.AsyncClient(transport=transport, base_url="http://t") as http,
            httpx.AsyncClient(transport=transport, base_url="http://t") as operator_http,
            httpx.AsyncClient(base_url=bare_simulator, headers={"apikey": SIMULATOR_KEY}) as sim,
        ):
            csrf = await panel_login(http, admin)
            page = await http.get("/panel/admin/instances")
            assert page.status_code == 200
            notice = (
                'usa a <a href="https://github.com/EvolutionAPI/evolution-api" rel="noopener">'
                "Evolution API</a> para conectar ao WhatsApp"
            )
            assert page.text.count(notice) == 1
            assert "Este sistema usa" not in page.text  # said once, in the reader's language
            added = await http.post(
                "/panel/admin/instances", data={"csrf_token": csrf, "name": name}
            )
            assert added.status_code == 303, added.text
            instance_id = (
                await rows(db, "select id from evolution_instances where external_id = :n", n=name)
            )[0]["id"]
            listed = await http.get("/panel/admin/instances")
            assert f'id="instance-{instance_id}"' in listed.text
            headers = {"X-CSRF-Token": csrf, "HX-Request": "true"}
            qrcode = await http.post(
                f"/panel/admin/instances/{instance_id}/qrcode", headers=headers
            )
            assert qrcode.status_code == 200, qrcode.text
            assert re.search(r'<img src="data:image/png;base64,[^"]+"', qrcode.text)

            await sim.post(f"/_sim/instances/{name}/connection", json={"action": "pair"})
            for _ in range(100):
                found = await rows(
                    db, "select connection_state from evolution_instances where id = :i",
                    i=instance_id,
                )  # fmt: skip
                if found[0]["connection_state"] == "open":
                    break
                await asyncio.sleep(0.1)
            state = await http.post(f"/panel/admin/instances/{instance_id}/state", headers=headers)
            assert "Conectado" in state.text
            out = await http.post(f"/panel/admin/instances/{instance_id}/logout", headers=headers)
            assert "Telefone desconectado." in out.text
            assert "state-close" in out.text
            bad = await http.post(
                "/panel/admin/instances",
                data={"csrf_token": csrf, "name": "nome com espaço"},
                headers={"HX-Request": "true"},
            )
            assert bad.status_code == 422

            await panel_login(operator_http, await factory.user(company, Role.SUPERVISOR))
            assert (await operator_http.get("/panel/admin/instances")).status_code == 404


def test_a_paired_number_reads_as_people_write_it() -> None:
    instance = SimpleNamespace(
        id=uuid.uuid4(),
        profile_name="Loja",
        external_id="loja",
        owner_jid="5511987654321:12@s.whatsapp.net",
        connection_state="open",
        server_url="http://evo.test",
        webhook_url=None,
        last_event_at=None,
    )
    card = render_macro("admin/_instance.html", "instance_card", instance, "csrf")
    assert '<span class="muted">+55 11 98765-4321</span>' in card
