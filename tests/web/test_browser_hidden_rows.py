"""A chat that leaves an operator's sight leaves their list live, in real Chromium: taken by a
colleague, or sent to a department they do not work in. Their stream carries only its id and
version (messaging/realtime.py `hidden`)."""

from __future__ import annotations

import httpx
from playwright.async_api import expect

from tests.conftest import login
from tests.web.shop import Shop
from zapcrm.models import Role


async def test_a_waiting_chat_taken_by_a_colleague_or_sent_elsewhere_leaves_the_list(
    shop: Shop, client: httpx.AsyncClient
) -> None:
    seller = await shop.user(Role.OPERATOR)
    colleague = await shop.user(Role.OPERATOR)
    boss = await login(client, await shop.user(Role.ADMIN))
    sales = await client.post(
        "/api/departments", json={"name": "Vendas", "member_ids": [str(seller.id)]}, headers=boss
    )
    finance = await client.post("/api/departments", json={"name": "Financeiro"}, headers=boss)
    page = await shop.panel(user=seller)
    await page.goto("/panel/inbox?tab=unassigned")
    first, second = await shop.customer("Dona Zilda"), await shop.customer("Seu Jorge")
    await first.writes("Tem bolo de fubá?")
    await second.writes("Quero encomendar salgados")
    zilda, jorge = (page.locator(".conv", has_text=name) for name in ("Dona Zilda", "Seu Jorge"))
    await expect(zilda).to_be_visible()
    await expect(jorge).to_be_visible()
    ids = {}
    for name, row in (("zilda", zilda), ("jorge", jorge)):
        ids[name] = str(await row.get_attribute("id")).removeprefix("conv-")

    taken = await client.post(
        f"/api/conversations/{ids['zilda']}/assign",
        json={"assignee_id": str(colleague.id)},
        headers=boss,
    )
    assert taken.status_code == 200, taken.text
    await expect(zilda).to_have_count(0)

    # Jorge waits in Vendas, the seller's; then goes to Financeiro, which is not.
    for department in (sales.json()["id"], finance.json()["id"]):
        routed = await client.post(
            f"/api/conversations/{ids['jorge']}/department",
            json={"department_id": department},
            headers=boss,
        )
        assert routed.status_code == 200, routed.text
        if department == sales.json()["id"]:
            await expect(jorge.locator(".conv-department")).to_have_text("Vendas")
    await expect(jorge).to_have_count(0)
    await expect(page.locator("#count-unassigned")).to_have_text("")  # none waiting: no number
