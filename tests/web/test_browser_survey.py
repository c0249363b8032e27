"""The satisfaction survey in real Chromium: an admin turns it on with a thanks of their own,
previewed as typed; an agent answers a customer and closes the chat; the customer's phone
gets the question, their "5" rates the service and is thanked, and the chat, still closed,
shows the grade on the customer's bubble."""

from __future__ import annotations

from playwright.async_api import expect

from tests.web.conftest import screenshot_path
from tests.web.shop import Shop
from zapcrm.models import Role
from zapcrm.surveys.schemas import DEFAULT_QUESTION

THANKS = "Obrigado pela nota, {{primeiro_nome|cliente}}! Até a próxima encomenda."


async def test_a_customer_rates_a_closed_chat_and_the_agent_sees_the_grade(shop: Shop) -> None:
    admin = await shop.panel(Role.ADMIN)
    await admin.goto("/panel/admin/survey")
    form = admin.locator("form[action='/panel/admin/survey']")
    await form.locator("input[name=enabled]").check()
    await form.locator("textarea[name=thanks]").fill(THANKS)
    await expect(admin.locator("#survey-preview")).to_contain_text(
        "Obrigado pela nota, Maria! Até a próxima encomenda."
    )
    await form.get_by_role("button", name="Salvar pesquisa").click()
    await expect(admin.locator("body")).to_contain_text("Pesquisa salva.")
    await expect(admin.locator("#survey-title")).to_contain_text("Ligada")
    if path := screenshot_path("survey"):
        await admin.screenshot(path=path, full_page=True)

    page = await shop.panel(Role.OPERATOR)
    customer = await shop.open_new_chat(page, "Cida Ramos", "Meu bolo chegou amassado")
    await page.get_by_role("button", name="Assumir").click()
    await page.fill("#composer-text", "Sinto muito! Mandamos outro hoje.")
    await page.keyboard.press("Enter")
    await customer.until_received("Sinto muito! Mandamos outro hoje.")
    await page.get_by_role("button", name="Encerrar").click()
    await expect(page.locator("#chat-header .status")).to_have_text("Encerrada")
    await customer.until_received(DEFAULT_QUESTION)

    await customer.writes("5")
    await customer.until_received("Obrigado pela nota, Cida! Até a próxima encomenda.")
    grade = page.locator("#messages .bubble.in", has_text="5").locator("p.rating")
    await expect(grade).to_have_text("★★★★★ avaliação do atendimento")
    await expect(grade).to_have_attribute("aria-label", "Avaliação do atendimento: nota 5 de 5")
    automatic = page.locator("#messages .bubble header", has_text="Pesquisa de satisfação")
    await expect(automatic).to_have_count(2)  # the question and the thanks
    await expect(page.locator("#chat-header .status")).to_have_text("Encerrada")
