"""Live tasks in real Chromium (issue 6): a supervisor's changes reach an operator's open tasks
list and navigation badge without a reload, on the tasks page and on any other page."""

from __future__ import annotations

import httpx
from playwright.async_api import Browser as PlaywrightBrowser
from playwright.async_api import Page, expect

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
