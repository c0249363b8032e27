"""In real Chromium: "Tentar de novo" on a failed send, and a note edited then deleted, seen
live by a supervisor with the same chat open."""

from __future__ import annotations

import uuid

from playwright.async_api import expect

from tests.messaging.test_send_retry import _failed
from tests.web.shop import Shop
from zapcrm.db import Database
from zapcrm.messaging import cache
from zapcrm.models import Role
from zapcrm.runtime import Runtime


async def test_a_failed_send_is_retried_and_a_note_is_edited_and_deleted_live(
    shop: Shop, db: Database, runtime: Runtime
) -> None:
    operator = await shop.user(Role.OPERATOR)
    page = await shop.panel(user=operator)
    boss = await shop.panel(Role.SUPERVISOR)
    customer = await shop.open_new_chat(page, "Bia Souza", "Meu pedido?")
    await page.get_by_role("button", name="Assumir").click()
    await expect(page.locator("#chat-header .assignee")).to_contain_text("operator teste")
    conversation_id = uuid.UUID(page.url.rsplit("/", 1)[1].split("?")[0])
    failed, _ = await _failed(db, operator, conversation_id, "Saiu para entrega hoje")
    # Written behind the worker's back (a worker failure takes too long to stage): the
    # cached first page of the chat does not know it yet.
    await runtime.redis.delete(
        cache.page_key(conversation_id), cache.page_complete_key(conversation_id)
    )
    await page.reload()
    await boss.goto(page.url)
    bubble = page.locator(f"#msg-{failed}")
    await expect(bubble).to_contain_text("Falha no envio")
    await boss.wait_for_timeout(300)  # the supervisor's live stream is open

    await bubble.get_by_role("button", name="Tentar de novo").click()
    await customer.until_received("Saiu para entrega hoje")
    await expect(bubble.locator(".tick")).not_to_have_class("tick tick-queued")
    await expect(bubble).not_to_contain_text("Falha no envio")
    await expect(bubble.get_by_role("button", name="Tentar de novo")).to_have_count(0)
    await expect(boss.locator(f"#msg-{failed}")).not_to_contain_text("Falha no envio")

    await page.fill("#composer-text", "Entregar na portaria")
    await page.get_by_role("button", name="Nota interna").click()
    note = page.locator(".bubble.note", has_text="Entregar na portaria")
    await expect(boss.locator(".bubble.note", has_text="Entregar na portaria")).to_have_count(1)
    await note.get_by_text("Editar").click()
    await note.get_by_label("Texto da nota").fill("Entregar com o síndico")
    await note.get_by_role("button", name="Salvar").click()
    edited = page.locator(".bubble.note", has_text="Entregar com o síndico")
    await expect(edited).to_contain_text("editada")
    boss_note = boss.locator(".bubble.note", has_text="Entregar com o síndico")
    await expect(boss_note).to_have_count(1)
    await expect(boss.locator(".bubble.note", has_text="portaria")).to_have_count(0)

    page.once("dialog", lambda dialog: dialog.accept())
    await edited.get_by_role("button", name="Excluir").click()
    await expect(page.locator(".bubble.note")).to_have_count(0)
    await expect(boss.locator(".bubble.note")).to_have_count(0)
