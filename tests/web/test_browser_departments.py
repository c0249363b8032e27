"""Departments in real Chromium: an admin creates a department with a member and turns the
WhatsApp menu on; a new customer gets the menu on their phone, answers "1", is told where
the chat went, and the member's queue shows the chat in that department, live; the member
sends it on to a department they are not in, and its pane says so."""

from __future__ import annotations

import re

from playwright.async_api import expect

from tests.web.conftest import screenshot_path
from tests.web.shop import Shop
from zapcrm.models import Role

GREETING = "Olá! Somos a Doceria. Com quem você quer falar?"


async def test_a_customer_chooses_a_department_in_the_menu_and_its_member_sees_it(
    shop: Shop,
) -> None:
    seller = await shop.user(Role.OPERATOR)
    admin = await shop.panel(Role.ADMIN)
    await admin.goto("/panel/admin/departments")
    create = admin.locator("form[action='/panel/admin/departments']")
    await create.locator("input[name=name]").fill("Encomendas")
    await create.locator(f"input[name=member_ids][value='{seller.id}']").check()
    await create.get_by_role("button", name="Criar setor").click()
    await expect(admin.locator("body")).to_contain_text("Setor criado.")
    menu = admin.locator("form[action='/panel/admin/departments/menu']")
    await menu.locator("input[name=enabled]").check()
    await menu.locator("textarea[name=greeting]").fill(GREETING)
    await expect(admin.locator("#menu-preview")).to_contain_text("1 - Encomendas")
    await menu.get_by_role("button", name="Salvar menu").click()
    await expect(admin.locator("body")).to_contain_text("Menu salvo.")
    if path := screenshot_path("departments"):
        await admin.screenshot(path=path, full_page=True)

    page = await shop.panel(user=seller)
    await page.goto("/panel/inbox?tab=unassigned")
    customer = await shop.customer("Dona Lurdes")
    await customer.writes("Boa tarde, vocês fazem bolo de aniversário?")
    await customer.until_received(f"{GREETING}\n\n*1* - Encomendas")
    await customer.writes("1")
    await customer.until_received(
        "Certo! Sua conversa foi encaminhada para *Encomendas*. Em instantes alguém vai te atender."
    )
    row = page.locator(".conv", has_text="Dona Lurdes")
    await expect(row.locator(".conv-department")).to_have_text("Encomendas")
    # The robot's lines do not answer the chat: the customer's own words are its latest line.
    await expect(row).to_contain_text("1")
    await row.locator("a").click()
    await expect(page.locator("#chat-header")).to_contain_text("Setor: Encomendas")
    await expect(page.locator("#messages")).to_contain_text("Menu de setores (automático)")

    # Sent on to Financeiro, where the seller does not work: the chat leaves their sight, and
    # its pane says where it went instead of offering actions that would only fail.
    await admin.goto("/panel/admin/departments")
    await create.locator("input[name=name]").fill("Financeiro")
    await create.get_by_role("button", name="Criar setor").click()
    await expect(admin.locator("body")).to_contain_text("Setor criado.")
    await page.reload()
    await page.locator("#chat-header summary", has_text="Transferir").click()
    await page.get_by_label("Enviar para o setor").select_option(label="Financeiro")
    await page.locator("#chat-header").get_by_role("button", name="Enviar ao setor").click()
    pane = page.locator(".chat-pane")
    await expect(pane).to_contain_text("Conversa enviada ao setor Financeiro")
    await expect(pane.get_by_role("button", name="Assumir")).to_have_count(0)
    # Back to the list the chat was opened from, "Não atribuídas".
    await expect(page).to_have_url(re.compile(r"/panel/inbox\?tab=unassigned&status=open$"))
    await expect(row).to_have_count(0)
