"""Quick replies by shortcut in real Chromium: typing "/" and the start of a shortcut lists
the matching replies over the composer; Enter takes the highlighted one, filled for the chat,
without sending anything; a "/" inside a sentence lists nothing and Enter sends as usual."""

from __future__ import annotations

from playwright.async_api import expect
from sqlalchemy import text

from tests.web.shop import Shop
from zapcrm.models import Role


async def test_a_slash_shortcut_fills_the_composer_with_the_reply(shop: Shop) -> None:
    async with shop.factory.db.service_session() as session:
        for shortcut, title, body in (
            ("/frete", "Frete", "Frete grátis, {{primeiro_nome}}!"),
            ("/horario", "Horário", "Abrimos às 8h."),
            ("/fidelidade", "Fidelidade", "Cartão fidelidade: 10 compras, 1 grátis."),
        ):
            await session.execute(
                text(
                    "insert into quick_replies (company_id, shortcut, title, body)"
                    " values (:c, :s, :t, :b)"
                ),
                {"c": shop.company_id, "s": shortcut, "t": title, "b": body},
            )
    page = await shop.panel(Role.OPERATOR)
    await shop.open_new_chat(page, "Lia Souza", "Qual o frete?")
    composer = page.locator("#composer-text")
    suggestions = page.locator("#composer-suggest li")

    await composer.press_sequentially("/f")
    await expect(suggestions).to_have_text(["/fidelidade — Fidelidade", "/frete — Frete"])
    await composer.press("ArrowDown")
    await expect(suggestions.nth(1)).to_have_attribute("aria-selected", "true")
    await composer.press("ArrowUp")
    await composer.press_sequentially("r")
    await expect(suggestions).to_have_text(["/frete — Frete"])
    await composer.press("Enter")
    await expect(composer).to_have_value("Frete grátis, Lia!")
    await expect(page.locator("#composer-suggest")).to_be_hidden()
    await expect(page.locator("#messages .bubble.out")).to_have_count(0)  # chosen, not sent

    # A "/" that is not a shortcut at the start lists nothing, and Enter sends as ever.
    await composer.fill("")
    await composer.press_sequentially("meio a meio / metade")
    await expect(page.locator("#composer-suggest")).to_be_hidden()
    await composer.press("Enter")
    await expect(page.locator("#messages .bubble.out")).to_have_count(1)


async def test_at_and_the_start_of_a_name_picks_a_colleague_for_a_note(shop: Shop) -> None:
    operator = await shop.user(Role.OPERATOR)
    colleague = await shop.user(Role.OPERATOR)
    async with shop.factory.db.service_session() as session:
        for user, name in ((operator, "Olga Operadora"), (colleague, "João Vendas")):
            await session.execute(
                text("update profiles set display_name = :n where id = :id"),
                {"n": name, "id": user.id},
            )
    page = await shop.panel(user=operator)
    await shop.open_new_chat(page, "Rui Lima", "Quero um orçamento")
    composer = page.locator("#composer-text")
    await composer.press_sequentially("Vê o frete, @joa")
    suggestions = page.locator("#composer-suggest li")
    await expect(suggestions).to_have_text(["João Vendas"])  # accents ignored
    await composer.press("Tab")
    await expect(composer).to_have_value("Vê o frete, @João ")
    await expect(page.locator("#composer-suggest")).to_be_hidden()
    # An e-mail is not a mention: nothing is suggested after "joao@".
    await composer.press_sequentially("ou joao@lo")
    await expect(page.locator("#composer-suggest")).to_be_hidden()
    await page.get_by_role("button", name="Nota interna").click()
    note = page.locator("#messages .note", has_text="@João")
    await expect(note).to_have_count(1)
