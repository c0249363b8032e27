"""Login, refresh rotation, logout and rate limits through the HTTP API."""

from __future__ import annotations

import httpx
import pytest

from tests.conftest import Factory, UserFixture, login
from zapcrm.models import Role


@pytest.fixture
async def operator(factory: Factory) -> UserFixture:
    company = await factory.company()
    return await factory.user(company, Role.OPERATOR)


async def test_login_returns_supabase_shaped_tokens_and_me_works(
    client: httpx.AsyncClient, operator: UserFixture
) -> None:
    response = await client.post(
        "/api/auth/login", json={"email": operator.email.upper(), "password": operator.password}
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["token_type"] == "bearer"
    assert body["expires_in"] > 0
    assert body["user"] == {
        "id": str(operator.id),
        "email": operator.email,
        "display_name": "operator teste",
        "company_id": str(operator.company_id),
        "role": "operator",
    }
    me = await client.get("/api/me", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert me.status_code == 200
    assert me.json()["id"] == str(operator.id)


async def test_wrong_password_and_unknown_user_answer_the_same(
    client: httpx.AsyncClient, operator: UserFixture
) -> None:
    wrong = await client.post(
        "/api/auth/login", json={"email": operator.email, "password": "senha-errada-999"}
    )
    unknown = await client.post(
        "/api/auth/login", json={"email": "ninguem@exemplo.com.br", "password": "qualquer-coisa"}
    )
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json() == unknown.json()
    assert wrong.json()["error"]["code"] == "invalid_credentials"


async def test_deactivated_user_cannot_log_in_and_loses_live_tokens(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    company = await factory.company()
    admin = await factory.user(company, Role.ADMIN)
    operator = await factory.user(company, Role.OPERATOR)
    admin_headers = await login(client, admin)
    operator_headers = await login(client, operator)

    response = await client.post(
        f"/api/admin/users/{operator.id}/deactivate", headers=admin_headers
    )
    assert response.status_code == 200, response.text
    assert response.json()["active"] is False

    again = await client.post(
        "/api/auth/login", json={"email": operator.email, "password": operator.password}
    )
    assert again.status_code == 401
    assert again.json()["error"]["code"] == "account_disabled"
    assert (await client.get("/api/me", headers=operator_headers)).status_code == 401


async def test_failed_logins_are_rate_limited_per_account(
    client: httpx.AsyncClient, operator: UserFixture
) -> None:
    for _ in range(5):
        response = await client.post(
            "/api/auth/login", json={"email": operator.email, "password": "senha-errada-999"}
        )
        assert response.status_code == 401
    blocked = await client.post(
        "/api/auth/login", json={"email": operator.email, "password": operator.password}
    )
    assert blocked.status_code == 429
    assert blocked.json()["error"]["code"] == "rate_limited"
    assert int(blocked.headers["Retry-After"]) > 0


async def test_refresh_rotates_and_reuse_revokes_the_session(
    client: httpx.AsyncClient, operator: UserFixture
) -> None:
    first = (
        await client.post(
            "/api/auth/login", json={"email": operator.email, "password": operator.password}
        )
    ).json()
    second = await client.post("/api/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert second.status_code == 200, second.text
    rotated = second.json()
    assert rotated["refresh_token"] != first["refresh_token"]

    reused = await client.post("/api/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert reused.status_code == 401
    assert reused.json()["error"]["code"] == "invalid_token"

    # The leak ends the whole session: the rotated refresh token and its access token die too.
    after = await client.post("/api/auth/refresh", json={"refresh_token": rotated["refresh_token"]})
    assert after.status_code == 401
    me = await client.get("/api/me", headers={"Authorization": f"Bearer {rotated['access_token']}"})
    assert me.status_code == 401


async def test_logout_revokes_access_and_refresh_tokens(
    client: httpx.AsyncClient, operator: UserFixture
) -> None:
    session = (
        await client.post(
            "/api/auth/login", json={"email": operator.email, "password": operator.password}
        )
    ).json()
    headers = {"Authorization": f"Bearer {session['access_token']}"}
    assert (await client.post("/api/auth/logout", headers=headers)).status_code == 204
    assert (await client.get("/api/me", headers=headers)).status_code == 401
    refresh = await client.post(
        "/api/auth/refresh", json={"refresh_token": session["refresh_token"]}
    )
    assert refresh.status_code == 401


async def test_missing_or_garbage_bearer_is_401(client: httpx.AsyncClient) -> None:
    assert (await client.get("/api/me")).status_code == 401
    garbage = await client.get("/api/me", headers={"Authorization": "Bearer not-a-jwt"})
    assert garbage.status_code == 401
    assert garbage.json()["error"]["code"] == "invalid_token"


async def test_login_validates_the_body(client: httpx.AsyncClient) -> None:
    response = await client.post("/api/auth/login", json={"email": "not-an-email"})
    assert response.status_code == 422
    fields = {item["field"] for item in response.json()["error"]["fields"]}
    assert fields == {"email", "password"}
