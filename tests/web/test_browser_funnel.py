"""The funnel board in real Chromium: a card dragged to another column moves the contact to that
stage (card, counts and the stored stage agree), and the card's own selector does the same
without a mouse."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
from playwright.async_api import expect

from tests.conftest import login
from tests.evolution.harness import rows
from tests.web.conftest import screenshot_path
from tests.web.shop import Shop
from zapcrm.db import Database
from zapcrm.models import Role


async def _contact(client: httpx.AsyncClient, headers: dict[str, str], **fields: Any) -> str:
    response = await client.post("/api/contacts", json=fields, headers=headers)
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


async def test_a_card_dragged_to_another_column_changes_the_contacts_stage(
    shop: Shop, client: httpx.AsyncClient, db: Database
) -> None:
    admin = await shop.user(Role.ADMIN)
    headers = await login(client, admin)
    for position, (key, label) in enumerate(
        (("novo", "Novo contato"), ("proposta", "Proposta enviada"), ("cliente", "Cliente"))
    ):
        created = await client.post(
            "/api/funnel-stages",
            json={"key": key, "label": label, "position": position},
            headers=headers,
        )
        assert created.status_code == 201, created.text
    ana = await _contact(
        client, headers, name="Ana Souza", phone="11987650201", funnel_stage="novo", tags=["vip"]
    )
    await _contact(client, headers, name="Bruno Lima", phone="11987650202", funnel_stage="novo")
    davi = await _contact(client, headers, name="Davi Rocha", phone="11987650203")

    page = await shop.panel(user=admin)
    await page.goto("/panel/contacts/funnel")
    await expect(page.locator("#count-novo")).to_have_text("2")
    await page.locator(f"#card-{ana} .funnel-name").drag_to(
        page.locator(".funnel-column[data-stage='proposta']")
    )
    await expect(page.locator(f"#cards-proposta #card-{ana}")).to_be_visible()
    await expect(page.locator(f"#card-{ana}")).to_have_count(1)
    await expect(page.locator("#count-novo")).to_have_text("1")
    await expect(page.locator("#count-proposta")).to_have_text("1")

    # Without a mouse: the card's selector.
    await page.locator(f"#card-{davi} select").select_option("cliente")
    await expect(page.locator(f"#cards-cliente #card-{davi}")).to_be_visible()
    await expect(page.locator("#count-_none")).to_have_text("0")
    if path := screenshot_path("funnel"):
        await page.screenshot(path=path, full_page=True)

    stored = await rows(
        db,
        "select id, funnel_stage from contacts where id = any(:ids)",
        ids=[uuid.UUID(ana), uuid.UUID(davi)],
    )
    assert {str(row["id"]): row["funnel_stage"] for row in stored} == {
        ana: "proposta",
        davi: "cliente",
    }
    # The board read again agrees with what the moves showed.
    await page.reload()
    await expect(page.locator(f"#cards-proposta #card-{ana}")).to_be_visible()
    await expect(page.locator("#count-cliente")).to_have_text("1")
