"""Business hours in real Chromium: an admin reaches Horário from Administração, closes
Saturdays, adds a holiday and then the national ones, switches the out-of-office reply on and
sees what a customer would read; the page fits a phone."""

from __future__ import annotations

import re

from playwright.async_api import Browser as PlaywrightBrowser
from playwright.async_api import expect

from tests.conftest import Factory
from tests.web.conftest import screenshot_path
from tests.web.shop import open_panel
from tests.web.test_browser_campaigns import FITS, TOO_WIDE
from zapcrm.models import Role


async def test_an_admin_sets_the_hours_and_the_out_of_office_reply(
    chromium: PlaywrightBrowser, live_server: str, factory: Factory
) -> None:
    company = await factory.company("Padaria Pão Quente")
    admin = await factory.user(company, Role.ADMIN)
    page = await open_panel(chromium, live_server, admin)
    phone = None
    try:
        await page.get_by_role("link", name="Administração").click()
        await page.get_by_role("link", name="Horário", exact=True).click()
        await page.wait_for_url("**/panel/admin/hours")
        await expect(page.locator(".hours-now .pill")).to_have_text(
            re.compile("^(Aberto|Fechado) agora$")
        )
        await expect(page.locator("#open-6")).to_be_checked()
        await page.uncheck("#open-6")
        await page.fill('input[name="closes_5"]', "17:00")
        await page.locator('.holiday-list input[value=""]').first.fill("2026-12-25")
        await page.check('input[name="away_enabled"]')
        await page.fill(
            "#f-away_message",
            "Oi {{primeiro_nome}}! A {{empresa}} está fechada agora. Voltamos {{reabertura}}.",
        )
        await page.get_by_role("button", name="Salvar horário").click()
        await expect(page.locator("p.notice")).to_have_text("Horário salvo.")
        await expect(page.locator("#open-6")).not_to_be_checked()
        await expect(page.locator('input[name="closes_5"]')).to_have_value("17:00")
        await expect(page.locator('.holiday-list input[value="2026-12-25"]')).to_have_count(1)
        # Then the national holidays: Christmas, typed already, is named and not doubled.
        await page.get_by_role("button", name="Adicionar os feriados nacionais").click()
        await expect(page.locator("p.notice")).to_have_text(
            re.compile(r"^Horário salvo, com \d+ feriados nacionais a mais\.$")
        )
        christmas = page.locator(".holiday", has=page.locator('input[value="2026-12-25"]'))
        await expect(christmas).to_have_count(1)
        await expect(christmas.locator(".holiday-name")).to_have_text("Natal")
        preview = page.locator(".variant-preview")
        await expect(preview).to_contain_text("Oi Maria! A Padaria Pão Quente está fechada agora.")
        await expect(preview).to_contain_text("Voltamos ")
        if path := screenshot_path("hours"):
            await preview.scroll_into_view_if_needed()
            await page.screenshot(path=path)

        phone = await open_panel(chromium, live_server, admin, viewport=(390, 844))
        await phone.goto("/panel/admin/hours")
        assert await phone.evaluate(FITS), await phone.evaluate(TOO_WIDE)
    finally:
        await page.context.close()
        if phone is not None:
            await phone.context.close()
