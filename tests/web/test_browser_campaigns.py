"""Campaigns in real Chromium: a supervisor plans one through the form (the audience count and
the preview follow the typing, a second text is added), starts it after confirming how many
contacts it goes to, and watches its progress block refresh itself; the pages fit a phone."""

from __future__ import annotations

from playwright.async_api import Browser as PlaywrightBrowser
from playwright.async_api import Dialog, Page, expect
from sqlalchemy import text

from tests.campaigns.helpers import (
    campaigns_end_with_the_test,  # noqa: F401 - autouse fixture
    new_desk,
)
from tests.conftest import Factory
from tests.web.conftest import screenshot_path
from tests.web.shop import open_panel
from zapcrm.db import Database

# Whether the page's content is as narrow as the window (nothing to scroll sideways).
FITS = """() => [document.documentElement, document.querySelector("main .page")].every(
  (box) => box.scrollWidth <= box.clientWidth
)"""


# What sticks out on the right, when something does (the assertion's message).
TOO_WIDE = """() => [...document.querySelectorAll("main *")]
  .filter((element) => element.getBoundingClientRect().right > window.innerWidth + 1)
  .map((element) => `${element.tagName}.${element.className}`)
  .slice(0, 5)"""


async def _fits(page: Page) -> bool:
    return bool(await page.evaluate(FITS))


async def _screenshot(page: Page, name: str) -> None:
    """The page from its top, for the README (only when ZAPCRM_SCREENSHOTS says where)."""
    if path := screenshot_path(name):
        await page.locator("main .page").evaluate("(box) => box.scrollTo(0, 0)")
        await page.screenshot(path=path)


async def test_a_supervisor_plans_starts_and_follows_a_campaign(
    chromium: PlaywrightBrowser, live_server: str, db: Database, factory: Factory
) -> None:
    desk = await new_desk(db, factory)
    await desk.customer("Cliente Ana", "+5511987650001")
    await desk.customer("Cliente Bruno", "+5511987650002")
    await desk.customer("Fornecedor Carlos", "+5511987650003")
    page = await open_panel(chromium, live_server, desk.supervisor)
    phone: Page | None = None
    try:
        await page.get_by_role("link", name="Campanhas").click()
        await expect(page.locator("main")).to_contain_text("Nenhuma campanha ainda.")
        await page.get_by_role("link", name="Nova campanha").click()
        await page.wait_for_url("**/panel/campaigns/new")

        await page.fill("#f-name", "Clientes de março")
        await page.select_option("#f-instance_id", str(desk.instance_id))
        count = page.locator("#audience-count")
        await expect(count).to_have_text("3 contatos")
        await page.fill("#f-q", "Cliente")
        await expect(count).to_have_text("2 contatos")

        await page.fill("#f-variant-1", "Olá {{primeiro_nome|cliente}}, chegou a coleção nova!")
        preview = page.locator("#variant-preview")
        await expect(preview).to_contain_text("Olá Maria, chegou a coleção nova!")
        await expect(preview).to_contain_text("Olá cliente, chegou a coleção nova!")
        await page.get_by_role("button", name="+ Outro texto").click()
        await page.fill("#f-variant-2", "Oi {{nome}}, a coleção nova chegou.")
        await expect(page.locator("#add-variant")).to_have_attribute("value", "3")
        await page.locator("details.pacing summary").click()
        await expect(page.locator("#f-hourly_cap")).to_have_value("70")
        assert await _fits(page)
        await _screenshot(page, "campaign-form")
        await page.get_by_role("button", name="Salvar rascunho").click()
        await page.wait_for_url("**/panel/campaigns/*-*")
        await expect(page.locator("#campaign-state")).to_contain_text("Rascunho")

        asked: list[str] = []

        async def confirm(dialog: Dialog) -> None:
            asked.append(dialog.message)
            await dialog.accept()

        page.once("dialog", confirm)
        await page.get_by_role("button", name="Iniciar").click()
        state = page.locator("#campaign-state")
        await expect(state).to_contain_text("Enviando")
        assert asked == ["Enviar para 2 contatos?"]
        await expect(state.locator("progress")).to_be_visible()
        await expect(state).to_contain_text("0 de 2 destinatários")
        await expect(state.locator("dd.pending")).to_have_text("2")
        await expect(page.locator("tr.recipient")).to_have_count(2)
        await expect(page.get_by_role("button", name="Pausar")).to_be_visible()
        # While it sends, the block reads itself again every few seconds.
        async with page.expect_response(lambda r: r.url.endswith("/progress"), timeout=10_000):
            pass
        await expect(state).to_contain_text("Enviando")
        # So does the recipients table: a person the dispatcher skips shows so, with why.
        async with db.service_session() as session:
            await session.execute(
                text(
                    "update campaign_recipients r set status = 'skipped', reason = :why"
                    " from contacts ct where ct.id = r.contact_id and ct.name = 'Cliente Ana'"
                ),
                {"why": "pediu para não receber"},
            )
        ana = page.locator("tr.recipient", has_text="Cliente Ana")
        await expect(ana).to_contain_text("Ignorado", timeout=10_000)
        await expect(ana).to_contain_text("pediu para não receber")
        await expect(page.locator("tr.recipient")).to_have_count(2)
        assert await page.locator("#recipients-shown").get_attribute("value") == "2"
        await _screenshot(page, "campaign")

        phone = await open_panel(chromium, live_server, desk.supervisor, viewport=(390, 844))
        for name, path_on_phone in (
            ("phone-campaign", page.url.removeprefix(live_server)),
            ("phone-campaigns", "/panel/campaigns"),
        ):
            await phone.goto(path_on_phone)
            await _screenshot(phone, name)
            assert await _fits(phone), (path_on_phone, await phone.evaluate(TOO_WIDE))
        await phone.goto("/panel/campaigns/new")
        await phone.locator("details.pacing summary").click()
        assert await _fits(phone)
    finally:
        await page.context.close()
        if phone is not None:
            await phone.context.close()
