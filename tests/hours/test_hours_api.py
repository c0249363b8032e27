"""The business hours API: defaults, who may change them, validation, tenancy."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import httpx

from tests.conftest import Factory, login
from tests.evolution.harness import rows
from zapcrm.db import Database
from zapcrm.hours import service as hours_service
from zapcrm.models import Role

WEEK = {str(day): {"opens": "09:00", "closes": "17:30"} for day in range(1, 6)}


def hours(**overrides: Any) -> dict[str, Any]:
    return {
        "schedule": WEEK,
        "holidays": ["2026-12-25", "2026-12-24", "2026-12-25"],
        "away_enabled": True,
        "away_message": "Oi {{primeiro_nome|cliente}}, voltamos {{reabertura}}.",
    } | overrides


async def test_a_company_starts_with_common_hours_and_the_reply_off(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    company = await factory.company()
    headers = await login(client, await factory.user(company, Role.OPERATOR))
    response = await client.get("/api/business-hours", headers=headers)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["away_enabled"] is False
    assert body["timezone"] == "America/Sao_Paulo"
    no_break = {"break_from": None, "break_until": None}
    assert body["schedule"]["1"] == {"opens": "08:00:00", "closes": "18:00:00", **no_break}
    assert body["schedule"]["6"] == {"opens": "08:00:00", "closes": "12:00:00", **no_break}
    assert "7" not in body["schedule"]
    assert "{{reabertura" in body["away_message"]
    assert body["updated_at"] is None
    assert isinstance(body["open_now"], bool)
    assert (body["next_opening"] is None) == body["open_now"]


async def test_an_admin_saves_them_audited_and_everyone_reads_them(
    client: httpx.AsyncClient, db: Database, factory: Factory
) -> None:
    company = await factory.company()
    admin = await login(client, await factory.user(company, Role.ADMIN))
    saved = await client.put("/api/business-hours", json=hours(), headers=admin)
    assert saved.status_code == 200, saved.text
    operator = await login(client, await factory.user(company, Role.OPERATOR))
    body = (await client.get("/api/business-hours", headers=operator)).json()
    assert body["schedule"] == {
        day: {"opens": "09:00:00", "closes": "17:30:00", "break_from": None, "break_until": None}
        for day in ("1", "2", "3", "4", "5")
    }
    assert body["holidays"] == ["2026-12-24", "2026-12-25"]  # sorted, once each
    assert body["away_enabled"] is True
    assert body["updated_at"] is not None
    audit = await rows(
        db,
        "select action, details from audit_log where company_id = :c and target_type = 'company'",
        c=company,
    )
    assert audit == [
        {
            "action": "business_hours.updated",
            "details": {"away_enabled": True, "days": [1, 2, 3, 4, 5]},
        }
    ]


async def test_only_admins_change_them(client: httpx.AsyncClient, factory: Factory) -> None:
    company = await factory.company()
    for role in (Role.OPERATOR, Role.SUPERVISOR):
        headers = await login(client, await factory.user(company, role))
        response = await client.put("/api/business-hours", json=hours(), headers=headers)
        assert response.status_code == 403, role


async def test_mistakes_are_refused_with_the_field_named(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    company = await factory.company()
    admin = await login(client, await factory.user(company, Role.ADMIN))
    cases = [
        hours(schedule={"1": {"opens": "18:00", "closes": "08:00"}}),
        hours(schedule={"8": {"opens": "08:00", "closes": "18:00"}}),
        hours(away_message="Oi {{cliente}}"),
        hours(away_message="Oi {{nome"),
        hours(away_message="   "),
        hours(away_message="x" * 1001),
        hours(holidays=["2026-02-30"]),
        hours(extra=True),
        # A break needs both ends, inside the day's hours.
        hours(schedule={"1": {"opens": "08:00", "closes": "18:00", "break_from": "12:00"}}),
        hours(
            schedule={
                "1": {
                    "opens": "08:00",
                    "closes": "18:00",
                    "break_from": "17:00",
                    "break_until": "19:00",
                }
            }
        ),
    ]
    for body in cases:
        response = await client.put("/api/business-hours", json=body, headers=admin)
        assert response.status_code == 422, body
    unknown = await client.put(
        "/api/business-hours", json=hours(away_message="Oi {{cliente}}"), headers=admin
    )
    assert "cliente" in unknown.text
    # Nothing was stored by the refused attempts.
    current = (await client.get("/api/business-hours", headers=admin)).json()
    assert current["updated_at"] is None
    # With the reply off, an empty text is fine (the default comes back).
    off = await client.put(
        "/api/business-hours", json=hours(away_enabled=False, away_message=""), headers=admin
    )
    assert off.status_code == 200, off.text


async def test_one_companys_hours_are_not_anothers(
    client: httpx.AsyncClient, db: Database, factory: Factory
) -> None:
    first, second = await factory.company(), await factory.company()
    admin = await login(client, await factory.user(first, Role.ADMIN))
    assert (await client.put("/api/business-hours", json=hours(), headers=admin)).status_code == 200
    other = await login(client, await factory.user(second, Role.ADMIN))
    assert (await client.get("/api/business-hours", headers=other)).json()["updated_at"] is None
    stored = await rows(db, "select company_id from business_hours where company_id = any(:c)",
                        c=[first, second])  # fmt: skip
    assert stored == [{"company_id": first}]


async def test_an_admin_adds_the_coming_years_national_holidays_once(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    company = await factory.company()
    admin = await login(client, await factory.user(company, Role.ADMIN))
    today = datetime.now(ZoneInfo("America/Sao_Paulo")).date()
    christmas = date(today.year, 12, 25)
    if christmas < today:
        christmas = date(today.year + 1, 12, 25)
    first = await client.post("/api/business-hours/national-holidays", headers=admin)
    assert first.status_code == 200, first.text
    body = first.json()
    assert body["added"] >= 9  # Brazil has at least nine national holidays a year
    assert christmas.isoformat() in body["hours"]["holidays"]
    again = await client.post("/api/business-hours/national-holidays", headers=admin)
    assert again.json()["added"] == 0
    assert again.json()["hours"]["holidays"] == body["hours"]["holidays"]
    operator = await login(client, await factory.user(company, Role.OPERATOR))
    refused = await client.post("/api/business-hours/national-holidays", headers=operator)
    assert refused.status_code == 403


async def test_a_day_with_a_lunch_break_is_saved_and_read_back(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    company = await factory.company()
    admin = await login(client, await factory.user(company, Role.ADMIN))
    monday = {"opens": "08:00", "closes": "18:00", "break_from": "12:00", "break_until": "13:30"}
    saved = await client.put(
        "/api/business-hours", json=hours(schedule={"1": monday}), headers=admin
    )
    assert saved.status_code == 200, saved.text
    body = (await client.get("/api/business-hours", headers=admin)).json()
    assert body["schedule"] == {
        "1": {
            "opens": "08:00:00",
            "closes": "18:00:00",
            "break_from": "12:00:00",
            "break_until": "13:30:00",
        }
    }


async def test_a_closed_day_keeps_its_name_and_still_closes_the_day(
    client: httpx.AsyncClient, db: Database, factory: Factory
) -> None:
    company = await factory.company()
    admin = await login(client, await factory.user(company, Role.ADMIN))
    named = hours(
        holidays=["2030-01-25", "2030-12-25"],
        holiday_names={"2030-01-25": "  Aniversário da cidade ", "2030-12-25": "",
                       "2030-07-09": "Dia que não está na lista"},
    )  # fmt: skip
    saved = await client.put("/api/business-hours", json=named, headers=admin)
    assert saved.status_code == 200, saved.text
    # Trimmed; an empty name is none; a name without its day goes with it.
    assert saved.json()["holiday_names"] == {"2030-01-25": "Aniversário da cidade"}
    [stored] = await rows(
        db, "select holidays, holiday_names from business_hours where company_id = :c", c=company
    )
    assert stored["holiday_names"] == {"2030-01-25": "Aniversário da cidade"}
    assert [str(day) for day in stored["holidays"]] == ["2030-01-25", "2030-12-25"]
    # The schedule reports and the away reply read still closes both days.
    async with db.service_session() as session:
        schedule = await hours_service.company_schedule(session, company)
    assert schedule.holidays == {date(2030, 1, 25), date(2030, 12, 25)}
    too_long = hours(holidays=["2030-01-25"], holiday_names={"2030-01-25": "x" * 81})
    refused = await client.put("/api/business-hours", json=too_long, headers=admin)
    assert refused.status_code == 422


async def test_hours_saved_before_days_had_names_still_load_and_save(
    client: httpx.AsyncClient, db: Database, factory: Factory
) -> None:
    """A row from before the names (the column's default) and a client that sends none."""
    company = await factory.company()
    admin = await login(client, await factory.user(company, Role.ADMIN))
    saved = await client.put("/api/business-hours", json=hours(), headers=admin)
    assert saved.status_code == 200, saved.text
    await rows(
        db,
        "update business_hours set holiday_names = default where company_id = :c"
        " returning company_id",
        c=company,
    )
    body = (await client.get("/api/business-hours", headers=admin)).json()
    assert body["holidays"] == ["2026-12-24", "2026-12-25"]
    assert body["holiday_names"] == {}
