"""Distribution in real Chromium: an operator turns "taking chats" on in the header, a new
customer writes, and the distributor puts the chat in the operator's own list live, with a
toast that says so."""

from __future__ import annotations

import asyncio

from playwright.async_api import expect
from sqlalchemy import text

from tests.evolution.harness import rows
from tests.web.shop import Shop
from zapcrm.distribution.jobs import distribute_once
from zapcrm.models import Role
from zapcrm.runtime import Runtime


async def test_an_available_operator_receives_a_new_customers_chat_live(
    shop: Shop, runtime: Runtime
) -> None:
    async with shop.factory.db.service_session() as session:
        await session.execute(
            text("insert into distribution_settings (company_id, enabled) values (:c, true)"),
            {"c": shop.company_id},
        )
    operator = await shop.user(Role.OPERATOR)
    page = await shop.panel(user=operator)
    switch = page.locator(".availability-toggle")
    await expect(switch).to_have_text("Pausado")
    await switch.click()
    await expect(switch).to_have_text("Disponível")
    await expect(switch).to_have_attribute("aria-pressed", "true")

    customer = await shop.customer("Dona Neide")
    await customer.writes("Quero um orçamento de bolo")
    for _ in range(50):  # the webhook's row first, then the distributor's round
        await distribute_once(runtime)
        found = await rows(
            shop.factory.db,
            "select assignee_id from evolution_conversations where company_id = :c",
            c=shop.company_id,
        )
        if found and found[0]["assignee_id"]:
            break
        await asyncio.sleep(0.2)
    assert found == [{"assignee_id": operator.id}]

    mine = page.locator(".conv", has_text="Dona Neide")
    await expect(mine).to_contain_text("Quero um orçamento de bolo")
    await expect(page.locator("#toast")).to_contain_text(
        "Nova conversa para você: Quero um orçamento de bolo"
    )
    # Paused again: the switch says so after a reload too.
    await switch.click()
    await expect(switch).to_have_text("Pausado")
    await page.reload()
    await expect(page.locator(".availability-toggle")).to_have_text("Pausado")
