"""The panel's frame on a phone (390x844) and a laptop (1280x800), in real Chromium: every menu
entry can be reached and the language links never sit on the page's content."""

from __future__ import annotations

import os

import pytest
from playwright.async_api import Browser as PlaywrightBrowser
from playwright.async_api import Page, expect

from tests.conftest import Factory
from tests.web.shop import open_panel
from zapcrm.models import Role

MENU = ("Início", "Conversas", "Contatos", "Tarefas", "Relatórios", "Campanhas", "Administração")

# Whether any element of the page's content, at its top or scrolled to its end, lies under the
# language links (what a fixed footer did to the last row of a table).
LANGS_COVER = """(end) => {
  const page = document.querySelector("main .page");
  page.scrollTo(0, end ? page.scrollHeight : 0);
  const shown = page.getBoundingClientRect();  // what scrolled out of the page is not seen
  const langs = document.querySelector("footer.langs").getBoundingClientRect();
  return [...page.querySelectorAll("td, button, input, textarea, select, a, p, li")]
    .map((element) => element.getBoundingClientRect())
    .map((box) => ({top: Math.max(box.top, shown.top), bottom: Math.min(box.bottom, shown.bottom),
                    left: box.left, right: box.right}))
    .some((box) => box.bottom > box.top && box.bottom > langs.top && box.top < langs.bottom
      && box.right > langs.left && box.left < langs.right);
}"""


async def _shot(page: Page, name: str) -> None:
    # Set ZAPCRM_LAYOUT_SHOTS to a folder to look at the frames this test checks.
    if folder := os.environ.get("ZAPCRM_LAYOUT_SHOTS"):
        await page.screenshot(path=os.path.join(folder, f"{name}.png"))


@pytest.mark.parametrize("viewport", [(390, 844), (1280, 800)], ids=["phone", "laptop"])
async def test_every_menu_entry_is_on_screen_and_the_languages_cover_nothing(
    chromium: PlaywrightBrowser, live_server: str, factory: Factory, viewport: tuple[int, int]
) -> None:
    admin = await factory.user(await factory.company(), Role.ADMIN)
    page = await open_panel(chromium, live_server, admin, viewport=viewport)
    try:
        await page.goto("/panel/tasks")
        # A long page, so its end is below the fold and the footer could sit on it.
        for number in range(12):
            await page.fill("#task-title-new", f"Tarefa {number}")
            await page.get_by_role("button", name="Criar tarefa").click()
            await expect(page.locator("p.notice")).to_be_visible()
        menu = page.get_by_role("navigation", name="Navegação principal")
        for name in MENU:
            entry = menu.get_by_role("link", name=name, exact=False)
            await expect(entry).to_be_in_viewport(ratio=1)
        await _shot(page, f"tasks-{viewport[0]}")
        assert not await page.evaluate(LANGS_COVER, False)
        assert not await page.evaluate(LANGS_COVER, True)
        await expect(page.locator("footer.langs")).to_be_in_viewport()
        await _shot(page, f"tasks-end-{viewport[0]}")
        await menu.get_by_role("link", name="Administração").click()
        await page.wait_for_url("**/panel/admin/users")
    finally:
        await page.context.close()
