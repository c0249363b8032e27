"""Live tasks in real Chromium (issue 6): a supervisor's changes reach an operator's open tasks
list and navigation badge without a reload, on the tasks page and on any other page."""

from __future__ import annotations

import httpx
from playwright.async_api import Browser as PlaywrightBrowser
from playwright.async_api import Dialog, Page, expect

from tests.conftest import Factory, login
from tests.web.shop import open_panel, until_live
from zapcrm.models import Role


async def _go(page: Page, path: str) -> None:
    await page.goto(path)
    await until_live(page)


async def test_my_tasks_and_badge_follow_what_a_supervisor_does(
    chromium: PlaywrightBrowser,
    live_server: str,
    live_worker: None,
    factory: Factory,
    client: httpx.AsyncClient,
) -> None:
    company = await factory.company()
    operator = await factory.user(company, Role.OPERATOR)
    colleague = await factory.user(company, Role.OPERATOR)
    supervisor = await login(client, await factory.user(company, Role.SUPERVISOR))
    page = await open_panel(chromium, live_server, operator)
    await _go(page, "/panel/tasks")
    await expect(page.locator("#task-list")).to_contain_text("Nenhuma tarefa aqui.")
    await expect(page.locator("#task-badge")).to_have_text("")

    created = await client.post(
        "/api/tasks",
        json={"title": "Retornar a ligação da Dona Cida", "assignee_id": str(operator.id)},
        headers=supervisor,
    )
    assert created.status_code == 201, created.text
    task_id = created.json()["id"]
    theirs = await client.post(
        "/api/tasks",
        json={"title": "Tarefa do colega", "assignee_id": str(colleague.id)},
        headers=supervisor,
    )
    assert theirs.status_code == 201

    row = page.locator(f"#task-{task_id}")
    await expect(row).to_contain_text("Retornar a ligação da Dona Cida")
    await expect(page.locator("#task-badge")).to_have_text("1")
    await expect(page.locator("#task-list")).not_to_contain_text("Tarefa do colega")

    done = await client.post(f"/api/tasks/{task_id}/complete", headers=supervisor)
    assert done.status_code == 200
    await expect(row).to_have_count(0)
    await expect(page.locator("#task-badge")).to_have_text("")

    await _go(page, "/panel/contacts")
    reopened = await client.post(f"/api/tasks/{task_id}/reopen", headers=supervisor)
    assert reopened.status_code == 200
    await expect(page.locator("#task-badge")).to_have_text("1")
    await page.context.close()


async def test_the_new_task_form_fits_its_card_on_a_desktop_and_a_phone(
    chromium: PlaywrightBrowser, live_server: str, factory: Factory
) -> None:
    operator = await factory.user(await factory.company(), Role.OPERATOR)
    for viewport in ((1280, 800), (390, 800)):
        page = await open_panel(chromium, live_server, operator, viewport=viewport)
        await page.goto("/panel/tasks")
        card = await page.locator("section.card", has_text="Nova tarefa").bounding_box()
        assert card is not None
        fields = page.locator(".task-form input:visible, .task-form select, .task-form textarea")
        assert await fields.count() == 5
        for index in range(await fields.count()):
            box = await fields.nth(index).bounding_box()
            assert box is not None
            assert box["x"] + box["width"] <= card["x"] + card["width"], (viewport, index)
        await page.context.close()


async def test_a_long_title_stays_in_its_row_and_the_details_keep_their_lines(
    chromium: PlaywrightBrowser,
    live_server: str,
    factory: Factory,
    client: httpx.AsyncClient,
) -> None:
    """A title pasted without spaces (a tracking code, a link) breaks inside its row instead
    of running under the Concluir button and off the screen; details keep the lines typed."""
    operator = await factory.user(await factory.company(), Role.OPERATOR)
    headers = await login(client, operator)
    created = await client.post(
        "/api/tasks",
        json={"title": "X" * 200, "description": "Pedido 4521\nEntregar na portaria"},
        headers=headers,
    )
    assert created.status_code == 201, created.text
    row_id = f"#task-{created.json()['id']}"
    for viewport in ((1280, 800), (390, 844)):
        page = await open_panel(chromium, live_server, operator, viewport=viewport)
        async with page.expect_response("**/panel/tasks/list?*"):  # the stream's first reload
            await _go(page, "/panel/tasks")
        row = await page.locator(row_id).bounding_box()
        title = await page.locator(f"{row_id} .task-title").bounding_box()
        button = await page.locator(f"{row_id} .task-actions").bounding_box()
        assert row is not None
        assert title is not None
        assert button is not None
        assert title["x"] + title["width"] <= button["x"], viewport
        assert button["x"] + button["width"] <= row["x"] + row["width"], viewport
        assert row["x"] + row["width"] <= viewport[0], viewport
        details = await page.locator(f"{row_id} .task-description").inner_text()
        assert details == "Pedido 4521\nEntregar na portaria"
        await page.context.close()


async def test_a_supervisor_edits_a_task_in_its_row_and_deletes_it_after_confirming(
    chromium: PlaywrightBrowser,
    live_server: str,
    factory: Factory,
    client: httpx.AsyncClient,
) -> None:
    """Editar turns the row into the task's form (the due date on the company's clock), Salvar
    brings the row back changed, Excluir asks first and then removes it."""
    company = await factory.company()
    supervisor = await factory.user(company, Role.SUPERVISOR)
    operator = await factory.user(company, Role.OPERATOR)
    created = await client.post(
        "/api/tasks",
        json={"title": "Ligar para a Dona Cida", "due_at": "2030-03-02T09:30:00-03:00"},
        headers=await login(client, supervisor),
    )
    assert created.status_code == 201, created.text
    row = f"#task-{created.json()['id']}"
    page = await open_panel(chromium, live_server, supervisor)
    # The stream's first reload of the list: a row it replaces is no target for a click.
    async with page.expect_response("**/panel/tasks/list?*"):
        await _go(page, "/panel/tasks")
    await page.click(f"{row} .task-edit")
    await expect(page.locator(f"{row} input[name=title]")).to_have_value("Ligar para a Dona Cida")
    await expect(page.locator(f"{row} input[name=due_date]")).to_have_value("2030-03-02")
    await expect(page.locator(f"{row} input[name=due_time]")).to_have_value("09:30")
    await page.fill(f"{row} input[name=title]", "Ligar para a Dona Cida (pedido 4521)")
    await page.fill(f"{row} input[name=due_date]", "2030-03-04")
    await page.select_option(f"{row} select[name=assignee]", str(operator.id))
    await page.fill(f"{row} textarea", "Ela prefere de manhã")
    await page.click(f"{row} button[type=submit]")
    await expect(page.locator(f"{row} .task-title")).to_have_text(
        "Ligar para a Dona Cida (pedido 4521)"
    )
    await expect(page.locator(f"{row} .due")).to_have_text("04/03/2030 09:30")
    await expect(page.locator(f"{row} .task-description")).to_have_text("Ela prefere de manhã")
    stored = (
        await client.get(
            f"/api/tasks/{created.json()['id']}", headers=await login(client, supervisor)
        )
    ).json()
    assert stored["due_at"].startswith("2030-03-04T12:30:00")
    assert stored["assignee_id"] == str(operator.id)

    await page.click(f"{row} .task-edit")
    asked: list[str] = []

    async def dismiss(dialog: Dialog) -> None:
        asked.append(dialog.message)
        await dialog.dismiss()

    page.once("dialog", dismiss)
    await page.click(f"{row} .task-delete")
    await expect(page.locator(f"{row} .task-delete")).to_be_visible()
    assert asked == [
        "Excluir a tarefa “Ligar para a Dona Cida (pedido 4521)”? Não dá para desfazer."
    ]
    page.once("dialog", lambda dialog: dialog.accept())
    await page.click(f"{row} .task-delete")
    await expect(page.locator(row)).to_have_count(0)
    gone = await client.get(
        f"/api/tasks/{created.json()['id']}", headers=await login(client, supervisor)
    )
    assert gone.status_code == 404
    await page.context.close()


async def test_the_streams_first_reload_keeps_the_rows_so_a_quick_concluir_sticks(
    chromium: PlaywrightBrowser,
    live_server: str,
    live_worker: None,
    factory: Factory,
    client: httpx.AsyncClient,
) -> None:
    """The list the page drew is still current when its stream opens: the reload then swaps
    nothing, so a row clicked meanwhile stays the row (replaced, it lost the click and its
    answer, and Concluir looked undone until a refresh). A real change still reloads it."""
    company = await factory.company()
    operator = await factory.user(company, Role.OPERATOR)
    supervisor = await login(client, await factory.user(company, Role.SUPERVISOR))
    created = await client.post(
        "/api/tasks",
        json={"title": "Confirmar a entrega", "assignee_id": str(operator.id)},
        headers=supervisor,
    )
    assert created.status_code == 201, created.text
    row = f"#task-{created.json()['id']}"
    page = await open_panel(chromium, live_server, operator)
    async with page.expect_response("**/panel/tasks/list?*") as first_reload:
        await page.goto("/panel/tasks")
        await page.evaluate(f"window.drawnRow = document.querySelector('{row}')")
        await until_live(page)
    assert (await first_reload.value).status == 204
    assert await page.evaluate(f"document.querySelector('{row}') === window.drawnRow")

    await page.click(f"{row} button:has-text('Concluir')")
    await expect(page.locator(row)).to_have_class("task done")
    await expect(page.locator(f"{row} .completed")).to_contain_text("concluída em")

    another = await client.post(
        "/api/tasks",
        json={"title": "Mandar o catálogo", "assignee_id": str(operator.id)},
        headers=supervisor,
    )
    assert another.status_code == 201
    await expect(page.locator("#task-list")).to_contain_text("Mandar o catálogo")
    await page.context.close()
