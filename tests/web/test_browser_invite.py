"""An invitation in real Chromium (issue 6): the admin invites from the users page and copies
the link; the invitee opens it in another browser, chooses a password and lands signed in."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from playwright.async_api import Browser as PlaywrightBrowser
from playwright.async_api import expect

from tests.conftest import Factory
from tests.web.shop import open_panel
from zapcrm.models import Role


async def test_an_invitee_joins_through_the_link_the_admin_copied(
    chromium: PlaywrightBrowser, live_server: str, factory: Factory
) -> None:
    admin = await factory.user(await factory.company(), Role.ADMIN)
    page = await open_panel(chromium, live_server, admin)
    await page.goto("/panel/admin/users")
    form = page.locator("#invite-form")
    await form.get_by_label("Nome").fill("Bia Souza")
    await form.get_by_label("E-mail").fill(f"bia-{admin.id.hex[:8]}@exemplo.com.br")
    await form.get_by_label("Perfil").select_option("supervisor")
    await form.get_by_role("button", name="Enviar convite").click()
    link_field = page.locator("#invite-link")
    await expect(link_field).to_have_value(re.compile(r"/panel/invite/[\w-]{43}$"))
    # The link carries PANEL_BASE_URL (PUBLIC_BASE_URL here): open its path on the test server.
    link = urlsplit(await link_field.input_value()).path
    await page.get_by_role("button", name="Copiar link").click()
    await expect(page.locator("#pending-invites")).to_contain_text("Bia Souza")
    await page.context.close()

    guest = await chromium.new_context(base_url=live_server, locale="pt-BR")
    invitee = await guest.new_page()
    await invitee.goto(link)
    await expect(invitee.locator("main")).to_contain_text("Crie sua senha")
    await invitee.get_by_label("Nova senha").fill("senha-da-bia-1")
    await invitee.get_by_label("Repita a senha").fill("senha-da-bia-1")
    await invitee.get_by_role("button", name="Criar senha e entrar").click()
    await invitee.wait_for_url("**/panel/")
    await expect(invitee.locator(".me-name")).to_have_text("Bia Souza")
    await invitee.goto(link)
    await expect(invitee.locator("#invite-state")).to_contain_text("já foi usado")
    await guest.close()
