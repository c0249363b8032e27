"""Admin actions that cannot be undone ask first, in real Chromium: cancelling an invitation
(its link dies) and disconnecting a WhatsApp number; answering no leaves everything as it was."""

from __future__ import annotations

import asyncio

from playwright.async_api import Browser as PlaywrightBrowser
from playwright.async_api import Dialog, expect

from tests.conftest import Factory
from tests.evolution.harness import new_instance
from tests.web.shop import open_panel
from zapcrm.db import Database
from zapcrm.models import Role


async def _asked(questions: list[str]) -> None:
    """Wait until the page has asked something (the dialog handler records it)."""
    for _ in range(100):
        if questions:
            return
        await asyncio.sleep(0.05)


async def test_cancelling_an_invitation_asks_first(
    chromium: PlaywrightBrowser, live_server: str, factory: Factory
) -> None:
    admin = await factory.user(await factory.company(), Role.ADMIN)
    email = f"bia-{admin.id.hex[:8]}@exemplo.com.br"
    page = await open_panel(chromium, live_server, admin)
    questions: list[str] = []
    answer = {"accept": False}

    async def reply(dialog: Dialog) -> None:
        questions.append(dialog.message)
        await (dialog.accept() if answer["accept"] else dialog.dismiss())

    page.on("dialog", reply)
    try:
        await page.goto("/panel/admin/users")
        form = page.locator("#invite-form")
        await form.get_by_label("E-mail").fill(email)
        await form.get_by_role("button", name="Enviar convite").click()
        pending = page.locator("#pending-invites")
        await expect(pending).to_contain_text(email)
        cancel = pending.get_by_role("button", name="Cancelar convite")
        await cancel.click()
        await _asked(questions)
        assert questions == [f"Cancelar o convite de {email}? O link enviado deixa de funcionar."]
        await page.wait_for_timeout(300)  # a request, had one gone, would be back by now
        await expect(pending).to_contain_text(email)
        answer["accept"] = True
        await cancel.click()
        await expect(page.locator("p.notice")).to_have_text("Convite cancelado.")
        await expect(page.locator("#pending-invites")).to_have_count(0)
    finally:
        await page.context.close()


async def test_disconnecting_a_number_asks_first(
    chromium: PlaywrightBrowser, live_server: str, db: Database, factory: Factory
) -> None:
    instance = await new_instance(db, factory)
    admin = await factory.user(instance.company_id, Role.ADMIN)
    page = await open_panel(chromium, live_server, admin)
    questions: list[str] = []
    posted: list[str] = []

    async def refuse(dialog: Dialog) -> None:
        questions.append(dialog.message)
        await dialog.dismiss()

    page.on("dialog", refuse)
    page.on("request", lambda request: posted.append(request.url))
    try:
        await page.goto("/panel/admin/instances")
        await page.get_by_role("button", name="Desconectar").click()
        await _asked(questions)
        assert questions == ["Desconectar este telefone do WhatsApp?"]
        await page.wait_for_timeout(300)
        assert not [url for url in posted if url.endswith("/logout")]
    finally:
        await page.context.close()
