"""Distribution API: each user's own switch, the settings only admins change (validated and
audited), the supervisors' view of the team, and RLS keeping the switch personal."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from tests.conftest import Factory, claims_for, login
from tests.evolution.harness import rows
from zapcrm.db import Database
from zapcrm.distribution import presence
from zapcrm.models import Role
from zapcrm.runtime import Runtime


async def test_the_switch_is_off_until_the_user_turns_it_on_and_says_if_distribution_runs(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    company = await factory.company()
    operator = await factory.user(company, Role.OPERATOR)
    headers = await login(client, operator)
    first = await client.get("/api/me/availability", headers=headers)
    assert first.json() == {"accepting": False, "distribution_enabled": False}
    on = await client.put("/api/me/availability", json={"accepting": True}, headers=headers)
    assert on.json() == {"accepting": True, "distribution_enabled": False}
    admin = await factory.user(company, Role.ADMIN)
    await client.put(
        "/api/distribution/settings", json={"enabled": True}, headers=await login(client, admin)
    )
    assert (await client.get("/api/me/availability", headers=headers)).json() == {
        "accepting": True,
        "distribution_enabled": True,
    }
    off = await client.put("/api/me/availability", json={"accepting": False}, headers=headers)
    assert off.json()["accepting"] is False
    bad = await client.put("/api/me/availability", json={"accepting": "talvez"}, headers=headers)
    assert bad.status_code == 422


async def test_only_admins_change_the_settings_which_are_validated_and_audited(
    client: httpx.AsyncClient, db: Database, factory: Factory
) -> None:
    company = await factory.company()
    for role in (Role.OPERATOR, Role.SUPERVISOR):
        headers = await login(client, await factory.user(company, role))
        refused = await client.put(
            "/api/distribution/settings", json={"enabled": True}, headers=headers
        )
        assert refused.status_code == 403, role
    admin = await factory.user(company, Role.ADMIN)
    headers = await login(client, admin)
    for field, value in (
        ("max_open_per_agent", 0),
        ("max_open_per_agent", 501),
        ("max_open_per_agent", "muitos"),
        ("idle_close_hours", 0),
        ("idle_close_hours", 721),
    ):
        invalid = await client.put(
            "/api/distribution/settings", json={"enabled": True, field: value}, headers=headers
        )
        assert invalid.status_code == 422, (field, value)
        assert invalid.json()["error"]["fields"][0]["field"] == field
    saved = await client.put(
        "/api/distribution/settings",
        json={"enabled": True, "max_open_per_agent": 4},
        headers=headers,
    )
    assert saved.status_code == 200, saved.text
    assert (saved.json()["enabled"], saved.json()["max_open_per_agent"]) == (True, 4)
    audit = await rows(
        db,
        "select actor_id, details from audit_log where company_id = :c"
        " and action = 'distribution.settings_changed'",
        c=company,
    )
    assert audit == [
        {
            "actor_id": admin.id,
            "details": {
                "enabled": True,
                "max_open_per_agent": 4,
                "idle_close_hours": None,
                "idle_close_message": None,
            },
        }
    ]


async def test_supervisors_see_who_takes_chats_who_is_online_and_how_many_wait(
    client: httpx.AsyncClient, factory: Factory, runtime: Runtime
) -> None:
    company = await factory.company()
    supervisor = await factory.user(company, Role.SUPERVISOR)
    operator = await factory.user(company, Role.OPERATOR)
    await client.put(
        "/api/me/availability", json={"accepting": True}, headers=await login(client, operator)
    )
    await presence.mark_present(runtime.redis, company, operator.id)
    other_company = await factory.company()
    stranger = await factory.user(other_company, Role.OPERATOR)
    await presence.mark_present(runtime.redis, other_company, stranger.id)

    body = (await client.get("/api/distribution", headers=await login(client, supervisor))).json()
    assert body["settings"] == {
        "enabled": False,
        "max_open_per_agent": None,
        "idle_close_hours": None,
        "idle_close_message": None,
        "updated_at": None,
    }
    assert body["waiting"] == 0
    team = {row["user_id"]: row for row in body["team"]}
    assert set(team) == {str(supervisor.id), str(operator.id)}
    assert (team[str(operator.id)]["accepting"], team[str(operator.id)]["online"]) == (True, True)
    assert (team[str(supervisor.id)]["accepting"], team[str(supervisor.id)]["online"]) == (
        False,
        False,
    )
    refused = await client.get("/api/distribution", headers=await login(client, operator))
    assert refused.status_code == 403


async def test_nobody_turns_a_colleagues_switch_on_even_in_sql(
    db: Database, factory: Factory
) -> None:
    company = await factory.company()
    operator = await factory.user(company, Role.OPERATOR)
    colleague = await factory.user(company, Role.OPERATOR)
    admin = await factory.user(company, Role.ADMIN)
    async with db.service_session() as session:
        await session.execute(
            text("insert into agent_availability (company_id, user_id) values (:c, :u)"),
            {"c": company, "u": colleague.id},
        )
    for actor in (operator, admin):
        async with db.tenant_session(claims_for(actor)) as session:
            changed = await session.execute(
                text("update agent_availability set accepting = true where user_id = :u"),
                {"u": colleague.id},
            )
            assert changed.rowcount == 0  # type: ignore[attr-defined]
    with pytest.raises(DBAPIError, match="row-level security"):
        async with db.tenant_session(claims_for(operator)) as session:
            await session.execute(
                text(
                    "insert into agent_availability (company_id, user_id, accepting)"
                    " values (:c, :u, true)"
                ),
                {"c": company, "u": admin.id},
            )
    assert await rows(
        db, "select accepting from agent_availability where user_id = :u", u=colleague.id
    ) == [{"accepting": False}]
