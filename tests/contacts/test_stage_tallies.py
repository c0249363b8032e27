"""The funnel's kept counts (migration 0052) say what a count of the contacts says, whatever
wrote them: the panel's API, the bulk import, a merge, a delete; folding keeps every sum."""

from __future__ import annotations

import uuid

import httpx
from sqlalchemy import text

from tests.conftest import Factory, login
from zapcrm.contacts.jobs import fold_tallies_once
from zapcrm.models import Role
from zapcrm.runtime import Runtime


async def _live(runtime: Runtime, company_id: object) -> dict[str | None, int]:
    """The counts by a scan of the table (contacts not merged away), as the owner."""
    async with runtime.db.service_session() as session:
        rows = await session.execute(
            text(
                "select funnel_stage, count(*) from contacts"
                " where company_id = :c and merged_into_id is null group by 1"
            ),
            {"c": company_id},
        )
        return {stage: int(count) for stage, count in rows.all()}


async def _tally_rows(runtime: Runtime, company_id: object) -> int:
    async with runtime.db.service_session() as session:
        rows = await session.execute(
            text("select count(*) from contact_stage_tallies where company_id = :c"),
            {"c": company_id},
        )
        return int(rows.scalar_one())


async def _board(client: httpx.AsyncClient, headers: dict[str, str]) -> dict[str | None, int]:
    response = await client.get("/api/contacts/funnel", headers=headers)
    assert response.status_code == 200, response.text
    return {column["key"]: column["count"] for column in response.json()["columns"]}


async def test_counts_follow_every_kind_of_write_and_survive_the_fold(
    client: httpx.AsyncClient, factory: Factory, runtime: Runtime
) -> None:
    company = await factory.company()
    other = await factory.company()
    headers = await login(client, await factory.user(company, Role.ADMIN))
    other_headers = await login(client, await factory.user(other, Role.ADMIN))
    for key, label in (("lead", "Lead"), ("cliente", "Cliente")):
        response = await client.post(
            "/api/funnel-stages", json={"key": key, "label": label}, headers=headers
        )
        assert response.status_code == 201, response.text

    ids = []
    for index, stage in enumerate(["lead", "lead", "cliente", None, None, "lead"]):
        body: dict[str, object] = {"name": f"Pessoa {index}", "phone": f"1198765{index:04d}"}
        if stage:
            body["funnel_stage"] = stage
        response = await client.post("/api/contacts", json=body, headers=headers)
        assert response.status_code == 201, response.text
        ids.append(response.json()["id"])
    # Another company's contacts are counted for it alone.
    response = await client.post("/api/contacts", json={"name": "Alheia"}, headers=other_headers)
    assert response.status_code == 201
    # A stage change, a merge (the folded contact stops counting), a delete, a bulk import.
    response = await client.patch(
        f"/api/contacts/{ids[0]}", json={"funnel_stage": "cliente"}, headers=headers
    )
    assert response.status_code == 200, response.text
    response = await client.post(
        f"/api/contacts/{ids[2]}/merge", json={"other_id": ids[1]}, headers=headers
    )
    assert response.status_code == 200, response.text
    assert (await client.delete(f"/api/contacts/{ids[3]}", headers=headers)).status_code == 204
    items = [
        {"phone": "21987650001", "name": "Importada", "stage": "lead"},
        {"phone": "21987650002", "name": "Outra importada"},
        {"phone": "1198765" + "0005", "name": "Pessoa 5 de novo", "stage": "cliente"},
    ]
    response = await client.post(
        "/api/contacts/bulk",
        json=items,
        params={"existing_policy": "overwrite"},
        headers=headers,
    )
    assert response.status_code == 200, response.text

    live = await _live(runtime, company)
    assert live == {"lead": 1, "cliente": 3, None: 2}  # the scenario did what it says
    board = await _board(client, headers)
    assert {key: count for key, count in board.items() if count} == live
    count = await client.get("/api/contacts/count", headers=headers)
    assert count.json()["count"] == sum(live.values())
    assert await _board(client, other_headers) == {None: 1}

    assert await _tally_rows(runtime, company) > len(live)
    await _fold_all(runtime)
    assert await _tally_rows(runtime, company) == len(live)
    assert {key: n for key, n in (await _board(client, headers)).items() if n} == live


async def _fold_all(runtime: Runtime) -> None:
    async with runtime.db.service_session() as session:
        await session.execute(text("select app.fold_stage_tallies(0)"))


async def test_the_board_opens_on_the_kept_counts_and_a_search_counts_live(
    client: httpx.AsyncClient, factory: Factory, runtime: Runtime
) -> None:
    company = await factory.company()
    headers = await login(client, await factory.user(company, Role.SUPERVISOR))
    for name in ("Ana", "Bia"):
        response = await client.post("/api/contacts", json={"name": name}, headers=headers)
        assert response.status_code == 201
    # A count kept apart from the rows shows on the whole board only: it is what is read.
    async with runtime.db.service_session() as session:
        await session.execute(
            text("insert into contact_stage_tallies (company_id, contacts) values (:c, 40)"),
            {"c": company},
        )
    assert (await _board(client, headers))[None] == 42
    count = await client.get("/api/contacts/count", headers=headers)
    assert count.json()["count"] == 42
    searched = await client.get("/api/contacts/funnel", params={"q": "ana"}, headers=headers)
    assert {column["key"]: column["count"] for column in searched.json()["columns"]} == {None: 1}


async def test_the_worker_folds_only_companies_with_many_rows(
    client: httpx.AsyncClient, factory: Factory, runtime: Runtime
) -> None:
    busy, quiet = await factory.company(), await factory.company()
    async with runtime.db.service_session() as session:
        for company, rows in ((busy, 40), (quiet, 3)):
            for _ in range(rows):
                await session.execute(
                    text(
                        "insert into contacts (company_id, name, funnel_stage)"
                        " values (:c, :n, 'lead')"
                    ),
                    {"c": company, "n": f"Contato {uuid.uuid4().hex[:6]}"},
                )
    assert await fold_tallies_once(runtime) >= 40
    assert await _tally_rows(runtime, busy) == 1
    assert await _tally_rows(runtime, quiet) == 3
    assert await _live(runtime, busy) == {"lead": 40}
    async with runtime.db.service_session() as session:
        kept = await session.execute(
            text("select sum(contacts) from contact_stage_tallies where company_id = :c"),
            {"c": busy},
        )
        assert kept.scalar_one() == 40


async def test_a_company_with_contacts_can_still_be_deleted(
    factory: Factory, runtime: Runtime
) -> None:
    """Its contacts go by cascade, after the company row: no count is written for it then."""
    company = await factory.company()
    async with runtime.db.service_session() as session:
        await session.execute(
            text("insert into contacts (company_id, name) values (:c, 'Ana'), (:c, 'Bia')"),
            {"c": company},
        )
    async with runtime.db.service_session() as session:
        await session.execute(text("delete from companies where id = :c"), {"c": company})
    assert await _tally_rows(runtime, company) == 0
