"""The contact list's filter builder and the import page in real Chromium: a stage condition
offers the company's stage names and takes the name people read on the board; the import's
upload bar moves only with the upload, not with the page's other requests."""

from __future__ import annotations

import httpx
from playwright.async_api import FilePayload, expect

from tests.conftest import login
from tests.web.shop import Shop
from zapcrm.models import Role


async def test_a_stage_condition_takes_the_stage_name_the_board_shows(
    shop: Shop, client: httpx.AsyncClient
) -> None:
    admin = await shop.user(Role.ADMIN)
    headers = await login(client, admin)
    for position, (key, label) in enumerate((("novo", "Novo contato"), ("cliente", "Cliente"))):
        made = await client.post(
            "/api/funnel-stages",
            json={"key": key, "label": label, "position": position},
            headers=headers,
        )
        assert made.status_code == 201, made.text
    for name, phone, stage in (
        ("Ana Souza", "11987650301", "cliente"),
        ("Bruno Lima", "11987650302", "novo"),
    ):
        made = await client.post(
            "/api/contacts",
            json={"name": name, "phone": phone, "funnel_stage": stage},
            headers=headers,
        )
        assert made.status_code == 201, made.text

    page = await shop.panel(user=admin)
    await page.goto("/panel/contacts")
    await page.locator("button", has_text="+ condição").first.click()
    condition = page.locator("#conditions-0 .condition").last
    value = condition.locator("input[name=value]")
    await expect(value).not_to_have_attribute("list", "stage-options")
    await condition.locator("select[name=field]").select_option("stage")
    await condition.locator("select[name=operator]").select_option("equals")
    await expect(value).to_have_attribute("list", "stage-options")
    offered = page.locator("#stage-options option")
    await expect(offered).to_have_count(2)
    assert await offered.evaluate_all("options => options.map(o => o.value)") == [
        "Novo contato",
        "Cliente",
    ]
    await value.fill("cliente")  # as typed, lower case
    await page.locator("button.primary", has_text="Aplicar").click()
    rows = page.locator("#contact-rows tr")
    await expect(rows).to_have_count(1)
    await expect(rows).to_contain_text("Ana Souza")
    # Back as another field, the value stops offering stages.
    condition = page.locator("#conditions-0 .condition").last
    await condition.locator("select[name=field]").select_option("name")
    await expect(condition.locator("input[name=value]")).not_to_have_attribute(
        "list", "stage-options"
    )
    # A name that is no stage says which ones there are.
    await condition.locator("select[name=field]").select_option("stage")
    await condition.locator("input[name=value]").fill("Clientes")
    await page.locator("button.primary", has_text="Aplicar").click()
    await expect(page.locator("main")).to_contain_text(
        "etapa desconhecida; use uma destas: Novo contato, Cliente"
    )


async def test_the_upload_bar_waits_for_the_upload(shop: Shop) -> None:
    page = await shop.panel(Role.SUPERVISOR)
    await page.goto("/panel/contacts/import")
    # The page's own requests (tasks badge, availability) are done...
    await expect(page.locator("#availability")).to_have_count(1)
    await page.wait_for_load_state("networkidle")
    bar = page.locator("#upload-progress")
    await expect(bar).to_be_hidden()  # ...and did not fill the bar
    upload: FilePayload = {
        "name": "clientes.csv",
        "mimeType": "text/csv",
        "buffer": b"nome;telefone\nAna;11987650311\n",
    }
    await page.locator("#file").set_input_files(files=[upload])
    await page.locator("#upload button[type=submit]").click()
    await expect(page.locator("main")).to_contain_text("clientes.csv")
