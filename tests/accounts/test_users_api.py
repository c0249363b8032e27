"""User administration through the API and the CLI: create, change role, deactivate, audit."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx
from sqlalchemy import text

from tests.conftest import PASSWORD, Factory, UserFixture, login
from tests.evolution.harness import rows
from zapcrm.config import Settings
from zapcrm.db import Database
from zapcrm.models import Role


async def _company_with_admin(factory: Factory) -> UserFixture:
    return await factory.user(await factory.company(), Role.ADMIN)


async def test_admin_creates_a_user_who_can_log_in(
    client: httpx.AsyncClient, factory: Factory, db: Database
) -> None:
    admin = await _company_with_admin(factory)
    headers = await login(client, admin)
    created = await client.post(
        "/api/admin/users",
        json={
            "email": "Nova.Operadora@Exemplo.com.br",
            "password": PASSWORD,
            "role": "operator",
            "display_name": "Nova",
        },
        headers=headers,
    )
    assert created.status_code == 201, created.text
    user = created.json()
    assert user["email"] == "nova.operadora@exemplo.com.br"
    assert (user["role"], user["active"]) == ("operator", True)

    new_login = await client.post(
        "/api/auth/login", json={"email": "nova.operadora@exemplo.com.br", "password": PASSWORD}
    )
    assert new_login.status_code == 200
    assert new_login.json()["user"]["company_id"] == str(admin.company_id)

    duplicate = await client.post(
        "/api/admin/users",
        json={"email": "nova.operadora@exemplo.com.br", "password": PASSWORD, "role": "admin"},
        headers=headers,
    )
    assert duplicate.status_code == 409

    async with db.service_session() as session:
        stored = (
            await session.execute(
                text("select encrypted_password from auth.users where id = :id"),
                {"id": user["id"]},
            )
        ).scalar_one()
        audit = (
            await session.execute(
                text("select action, actor_id from audit_log where target_id = :id"),
                {"id": user["id"]},
            )
        ).all()
    assert stored.startswith("$2b$10$")  # bcrypt, as Supabase Auth stores it
    assert [(action, actor) for action, actor in audit] == [("user.created", admin.id)]


async def test_role_change_takes_effect_on_the_next_request(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    admin = await _company_with_admin(factory)
    operator = await factory.user(admin.company_id, Role.OPERATOR)
    admin_headers = await login(client, admin)
    operator_headers = await login(client, operator)
    assert (await client.get("/api/admin/users", headers=operator_headers)).status_code == 403

    promoted = await client.patch(
        f"/api/admin/users/{operator.id}", json={"role": "admin"}, headers=admin_headers
    )
    assert promoted.status_code == 200
    assert (await client.get("/api/admin/users", headers=operator_headers)).status_code == 200


async def test_the_last_admin_cannot_be_removed(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    admin = await _company_with_admin(factory)
    other_admin = await factory.user(admin.company_id, Role.ADMIN)
    headers = await login(client, admin)
    self_change = await client.patch(
        f"/api/admin/users/{admin.id}", json={"role": "operator"}, headers=headers
    )
    assert self_change.status_code == 409
    demoted = await client.patch(
        f"/api/admin/users/{other_admin.id}", json={"role": "supervisor"}, headers=headers
    )
    assert demoted.status_code == 200
    # The demoted admin is still active and can log in as a supervisor.
    demoted_headers = await login(client, other_admin)
    assert (await client.get("/api/admin/users", headers=demoted_headers)).status_code == 403


async def test_invalid_user_bodies_get_field_errors(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    headers = await login(client, await _company_with_admin(factory))
    response = await client.post(
        "/api/admin/users",
        json={"email": "x@exemplo.com", "password": "curta", "role": "rei"},
        headers=headers,
    )
    assert response.status_code == 422
    fields = {item["field"] for item in response.json()["error"]["fields"]}
    assert fields == {"password", "role"}


def _zapcrm(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DATABASE_URL": settings.database_url, "REDIS_URL": settings.redis_url}
    return subprocess.run(
        [str(Path(sys.executable).with_name("zapcrm")), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


async def test_cli_creates_company_and_users_and_manages_roles(
    settings: Settings, client: httpx.AsyncClient
) -> None:
    company = _zapcrm(settings, "company", "create", "--name", "Padaria Pão Quente")
    assert company.returncode == 0, company.stderr
    company_id = company.stdout.strip()
    email = "gerente@padaria.com.br"
    created = _zapcrm(
        settings, "user", "create", "--company", company_id, "--email", email,
        "--password", PASSWORD, "--role", "operator",
    )  # fmt: skip
    assert created.returncode == 0, created.stderr
    body = (
        await client.post("/api/auth/login", json={"email": email, "password": PASSWORD})
    ).json()
    assert body["user"]["role"] == "operator"

    # The company has no admin yet, so promoting is allowed; deactivating then kills the session.
    assert _zapcrm(settings, "user", "set-role", "--user", email, "--role", "admin").returncode == 0
    second = _zapcrm(
        settings, "user", "create", "--company", company_id, "--email", "b@padaria.com.br",
        "--password", PASSWORD, "--role", "admin",
    )  # fmt: skip
    assert second.returncode == 0
    assert _zapcrm(settings, "user", "deactivate", "--user", email).returncode == 0
    me = await client.get("/api/me", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert me.status_code == 401

    unknown = _zapcrm(settings, "user", "deactivate", "--user", "ninguem@x.com")
    assert unknown.returncode == 1
    assert "não encontrado" in unknown.stderr


async def test_demo_command_is_idempotent_and_its_logins_work(
    settings: Settings, client: httpx.AsyncClient, db: Database
) -> None:
    from zapcrm.cli import DEMO_COMPANY, DEMO_PASSWORD, DEMO_USERS

    for _ in range(2):
        result = _zapcrm(settings, "demo")
        assert result.returncode == 0, result.stderr
    # A shop's starting catalogue, once: stages, fields, quick replies, a draft campaign, its
    # hours with the out-of-office reply on.
    counts = await rows(
        db,
        "select (select count(*) from funnel_stages s where s.company_id = c.id) as stages,"
        " (select count(*) from contact_attributes a where a.company_id = c.id) as fields,"
        " (select count(*) from quick_replies q where q.company_id = c.id) as replies,"
        " (select count(*) from campaigns k where k.company_id = c.id"
        "  and k.status = 'draft') as campaigns,"
        " (select count(*) from business_hours b where b.company_id = c.id"
        "  and b.away_enabled) as hours,"
        " (select count(*) from departments d where d.company_id = c.id) as departments,"
        " (select count(*) from department_members m where m.company_id = c.id) as members,"
        " (select count(*) from department_menus u where u.company_id = c.id"
        "  and u.enabled) as menus,"
        # The month of history: most chats in a department (payments in Financeiro).
        " (select count(distinct v.department_id) from evolution_conversations v"
        "  where v.company_id = c.id) as routed"
        " from companies c where c.name = :name",
        name=DEMO_COMPANY,
    )
    assert counts == [
        {
            "stages": 4, "fields": 3, "replies": 3, "campaigns": 1, "hours": 1,
            "departments": 2, "members": 3, "menus": 1, "routed": 2,
        }
    ]  # fmt: skip
    for email, role, _ in DEMO_USERS:
        response = await client.post(
            "/api/auth/login", json={"email": email, "password": DEMO_PASSWORD}
        )
        assert response.status_code == 200, response.text
        assert response.json()["user"]["role"] == role.value
