"""Notices in real Chromium: an operator working in another tab hears and sees that a customer
wrote (a desktop notification and "(1)" in the tab's title), the count goes when the tab is seen
again, and the 🔔 button turns notices off. The page's visibility and the browser's Notification
are stood in for by a script, since a headless browser has neither a hidden tab nor a desktop."""

from __future__ import annotations

import re

from playwright.async_api import Page, expect

from tests.evolution.harness import rows
from tests.web.shop import Shop
from zapcrm.models import Role

STAND_INS = """
window.__notices = [];
window.__hidden = false;
Object.defineProperty(Document.prototype, "hidden", {
  configurable: true, get() { return window.__hidden; },
});
class RecordedNotification {
  constructor(title, options) { window.__notices.push([title, options.body, options.tag]); }
  close() {}
}
RecordedNotification.permission = "granted";
RecordedNotification.requestPermission = () => Promise.resolve("granted");
window.Notification = RecordedNotification;
"""


async def _look_away(page: Page, away: bool) -> None:
    script = (
        "(away) => { window.__hidden = away;"
        " document.dispatchEvent(new Event('visibilitychange')); }"
    )
    await page.evaluate(script, away)


async def test_a_customer_writing_while_the_operator_is_elsewhere_is_noticed(shop: Shop) -> None:
    page = await shop.panel(Role.OPERATOR)
    await page.context.add_init_script(STAND_INS)
    await page.goto("/panel/tasks")
    await page.wait_for_timeout(500)  # let the live stream open
    await _look_away(page, True)
    customer = await shop.customer("Dona Rosa")
    await customer.writes("Vocês abrem amanhã?")
    await expect(page).to_have_title(re.compile(r"^\(1\) Tarefas"))
    found = await rows(
        shop.factory.db,
        "select id from evolution_conversations where company_id = :c",
        c=shop.company_id,
    )
    assert await page.evaluate("window.__notices") == [
        ["Dona Rosa", "Vocês abrem amanhã?", str(found[0]["id"])]
    ]
    await _look_away(page, False)
    await expect(page).to_have_title(re.compile(r"^Tarefas"))
    # On screen, elsewhere in the panel: a toast that leads to the chat, the words as text.
    await customer.writes("<b>Oi</b> de novo")
    toast = page.locator("#toast a.notice-toast")
    await expect(toast).to_have_text("Dona Rosa <b>Oi</b> de novo")
    await expect(toast).to_have_attribute("href", f"/panel/inbox/{found[0]['id']}")
    assert await page.evaluate("window.__notices.length") == 1  # no desktop notice on screen

    # Turned off (and kept so for the next page): nothing more.
    alerts = page.locator("[data-alerts]")
    await expect(alerts).to_have_attribute("aria-pressed", "true")
    await alerts.click()
    await page.reload()
    await expect(alerts).to_have_attribute("aria-pressed", "false")
    await page.wait_for_timeout(500)
    await _look_away(page, True)
    await customer.writes("Alô?")
    await page.wait_for_timeout(1500)
    assert await page.evaluate("window.__notices.length") == 0  # a fresh page's record
    assert not (await page.title()).startswith("(")
