"""The contact filter builder in real Chromium: the operator list offers only what the chosen
field takes, so "Etapa do funil contém" or "Criado em contém" cannot be picked."""

from __future__ import annotations

from playwright.async_api import expect

from tests.web.shop import Shop
from zapcrm.models import Role

_OFFERED = "select => [...select.options].filter(o => !o.hidden && !o.disabled).map(o => o.value)"


async def test_the_operator_list_follows_the_chosen_field(shop: Shop) -> None:
    page = await shop.panel(Role.SUPERVISOR)
    await page.goto("/panel/contacts")
    await page.locator("button", has_text="+ condição").first.click()
    condition = page.locator("#conditions-0 .condition").last
    field = condition.locator("select[name=field]")
    operator = condition.locator("select[name=operator]")
    await expect(operator).to_have_value("contains")  # a new row: Nome contém

    await field.select_option("stage")
    # "contém" left with the field: the first operator a stage takes is chosen instead.
    await expect(operator).to_have_value("equals")
    offered = await operator.evaluate(_OFFERED)
    assert offered == ["equals", "not_equals", "present", "absent"]

    await field.select_option("created_at")
    await expect(operator).to_have_value("equals")  # still fits: kept
    offered = await operator.evaluate(_OFFERED)
    assert "contains" not in offered
    assert offered[-2:] == ["days_ago_more_than", "days_ago_less_than"]

    await field.select_option("name")
    offered = await operator.evaluate(_OFFERED)
    assert offered == [
        "equals",
        "not_equals",
        "contains",
        "not_contains",
        "starts_with",
        "present",
        "absent",
    ]
    await operator.select_option("starts_with")
    await condition.locator("input[name=value]").fill("Ana")
    await page.locator("button.primary", has_text="Aplicar").click()
    await expect(page.locator("#contact-rows")).to_have_count(1)
    await expect(page.locator(".alert")).to_have_count(0)
