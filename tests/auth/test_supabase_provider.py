"""AUTH_PROVIDER=supabase end to end: login, refresh, logout and user admin via Supabase Auth."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from datetime import timedelta

import httpx
import pytest
from pydantic import SecretStr

from tests.auth.fake_gotrue import FakeGoTrue
from tests.conftest import PASSWORD
from tests.servers import ServerThread
from zapcrm.accounts import invites
from zapcrm.accounts import repository as accounts_repo
from zapcrm.accounts import service as accounts_service
from zapcrm.app import create_app
from zapcrm.auth.identity import Identity
from zapcrm.config import AuthProvider, Settings
from zapcrm.models import Role
from zapcrm.runtime import Runtime


@pytest.fixture(scope="module")
def gotrue(database_url: str) -> Iterator[FakeGoTrue]:
    fake = FakeGoTrue(database_url=database_url)
    server = ServerThread(fake.app())
    fake.base_url = server.start()
    try:
        yield fake
    finally:
        server.stop()


@pytest.fixture(scope="module")
def supabase_settings(settings: Settings, gotrue: FakeGoTrue) -> Settings:
    return settings.model_copy(
        update={
            "auth_provider": AuthProvider.SUPABASE,
            "supabase_url": gotrue.base_url,
            "supabase_anon_key": SecretStr(gotrue.anon_key),
            "supabase_service_role_key": SecretStr(gotrue.service_key),
            # No JWT secret: tokens are ES256 and verified with the project's JWKS.
        }
    )


@pytest.fixture(scope="module")
async def supabase_client(supabase_settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(supabase_settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://zapcrm.test") as http:
            yield http


async def _admin(supabase_settings: Settings, email: str) -> None:
    runtime = Runtime.build(supabase_settings)
    try:
        async with runtime.db.service_session() as session:
            company = await accounts_service.create_company(session, name="Clínica Sorriso")
            await accounts_service.create_user(
                session,
                runtime.directory,
                company_id=company.id,
                email=email,
                password=PASSWORD,
                role=Role.ADMIN,
                display_name="Dra. Ana",
                actor_id=None,
            )
    finally:
        await runtime.close()


async def _login(client: httpx.AsyncClient, email: str) -> httpx.Response:
    return await client.post("/api/auth/login", json={"email": email, "password": PASSWORD})


async def test_supabase_login_refresh_logout_and_user_admin(
    supabase_settings: Settings, supabase_client: httpx.AsyncClient, gotrue: FakeGoTrue
) -> None:
    await _admin(supabase_settings, "ana@clinica.com.br")
    session = await _login(supabase_client, "ana@clinica.com.br")
    assert session.status_code == 200, session.text
    admin_headers = {"Authorization": f"Bearer {session.json()['access_token']}"}
    me = await supabase_client.get("/api/me", headers=admin_headers)
    assert me.json()["role"] == "admin"

    created = await supabase_client.post(
        "/api/admin/users",
        json={"email": "bia@clinica.com.br", "password": PASSWORD, "role": "operator"},
        headers=admin_headers,
    )
    assert created.status_code == 201, created.text
    assert "bia@clinica.com.br" in gotrue.users  # created in Supabase Auth, not by us
    duplicate = await supabase_client.post(
        "/api/admin/users",
        json={"email": "bia@clinica.com.br", "password": PASSWORD, "role": "operator"},
        headers=admin_headers,
    )
    assert duplicate.status_code == 409

    operator = await _login(supabase_client, "bia@clinica.com.br")
    assert operator.status_code == 200
    operator_headers = {"Authorization": f"Bearer {operator.json()['access_token']}"}
    refreshed = await supabase_client.post(
        "/api/auth/refresh", json={"refresh_token": operator.json()["refresh_token"]}
    )
    assert refreshed.status_code == 200

    deactivated = await supabase_client.post(
        f"/api/admin/users/{created.json()['id']}/deactivate", headers=admin_headers
    )
    assert deactivated.status_code == 200
    assert gotrue.users["bia@clinica.com.br"].banned
    assert (await supabase_client.get("/api/me", headers=operator_headers)).status_code == 401
    assert (await _login(supabase_client, "bia@clinica.com.br")).status_code == 401

    logout = await supabase_client.post("/api/auth/logout", headers=admin_headers)
    assert logout.status_code == 204
    assert gotrue.logouts == 1


async def test_supabase_wrong_password_and_foreign_tokens(
    supabase_client: httpx.AsyncClient,
) -> None:
    wrong = await supabase_client.post(
        "/api/auth/login", json={"email": "ninguem@clinica.com.br", "password": "errada-123"}
    )
    assert wrong.status_code == 401
    assert wrong.json()["error"]["code"] == "invalid_credentials"
    # A locally signed HS256 token means nothing to a Supabase deployment using signing keys.
    local = await supabase_client.get(
        "/api/me",
        headers={"Authorization": "Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl"},
    )
    assert local.status_code == 401


async def test_supabase_invitations_set_the_password_and_revoking_deletes_the_user(
    supabase_settings: Settings, supabase_client: httpx.AsyncClient, gotrue: FakeGoTrue
) -> None:
    """Invitations (issue 6) go through Supabase Auth's admin API like every other login."""
    await _admin(supabase_settings, "dani@clinica.com.br")
    runtime = Runtime.build(supabase_settings)
    try:
        async with runtime.db.service_session() as session:
            found = await accounts_repo.find_user_by_email(session, "dani@clinica.com.br")
        assert found is not None
        admin = found[1]
        assert admin is not None
        actor = Identity(
            user_id=admin.id,
            company_id=admin.company_id,
            role=Role.ADMIN,
            email=admin.email,
            display_name="Dani",
            session_id=None,
            claims={},
        )
        issued: dict[str, invites.IssuedInvite] = {}
        for email in ("eva@clinica.com.br", "fabi@clinica.com.br"):
            async with runtime.db.service_session() as session:
                issued[email] = await invites.invite_user(
                    session,
                    runtime.directory,
                    actor,
                    email=email,
                    display_name="",
                    role=Role.OPERATOR,
                    ttl=timedelta(hours=1),
                )
        assert {"eva@clinica.com.br", "fabi@clinica.com.br"} <= set(gotrue.users)

        async with runtime.db.service_session() as session:
            await invites.accept_invite(
                session, runtime.directory, issued["eva@clinica.com.br"].token, "senha-da-eva-1"
            )
        async with runtime.db.service_session() as session:
            login = await invites.revoke_invite(
                session, actor, issued["fabi@clinica.com.br"].invite.id
            )
        assert login is not None
        async with runtime.db.service_session() as session:
            await invites.remove_unused_login(session, runtime.directory, actor.company_id, login)
    finally:
        await runtime.close()

    joined = await supabase_client.post(
        "/api/auth/login", json={"email": "eva@clinica.com.br", "password": "senha-da-eva-1"}
    )
    assert joined.status_code == 200, joined.text
    assert "fabi@clinica.com.br" not in gotrue.users
    assert (await _login(supabase_client, "fabi@clinica.com.br")).status_code == 401
