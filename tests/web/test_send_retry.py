""" "Tentar de novo" on a failed outgoing bubble: shown only where a retry is possible, posted
with the session's CSRF token, answered with the redrawn bubble."""

from __future__ import annotations

import httpx

from tests.conftest import Factory
from tests.evolution.harness import rows
from tests.messaging.test_send_retry import _failed, _set
from tests.web.conftest import Browser, new_company_chat, panel_login
from zapcrm.db import Database
from zapcrm.models import Role


async def test_a_failed_bubble_offers_a_retry_that_queues_it_again(
    new_browser: Browser, client: httpx.AsyncClient, db: Database, factory: Factory
) -> None:
    chat = await new_company_chat(client, db, factory, text_body="cadê meu pedido?")
    operator = await factory.user(chat.instance.company_id, Role.OPERATOR)
    http = await new_browser()
    csrf = await panel_login(http, operator)
    headers = {"X-CSRF-Token": csrf, "HX-Request": "true"}
    taken = await http.post(
        f"/panel/conversations/{chat.conversation_id}/assign",
        data={"assignee": "me"},
        headers=headers,
    )
    assert taken.status_code == 200
    failed, _ = await _failed(db, operator, chat.conversation_id, "Já saiu para entrega")
    delivered, _ = await _failed(db, operator, chat.conversation_id, "Obrigado!")
    await _set(db, delivered, "status = 'DELIVERY_ACK', error_detail = null, key_id = 'K1'")
    retry_url = f"/panel/messages/{failed}/retry"

    page = await http.get(f"/panel/inbox/{chat.conversation_id}")
    assert page.status_code == 200
    assert page.text.count('class="link retry"') == 1
    assert f'hx-post="{retry_url}"' in page.text
    assert "Falha no envio: a Evolution API recusou o envio" in page.text

    forged = await http.post(retry_url, headers={"HX-Request": "true"})
    assert forged.status_code == 403
    retried = await http.post(retry_url, headers=headers)
    assert retried.status_code == 200, retried.text
    assert f'id="msg-{failed}"' in retried.text
    assert "na fila" in retried.text
    assert "Falha no envio" not in retried.text
    assert "retry" not in retried.text
    assert await rows(
        db, "select status, error_detail from evolution_messages where id = :id", id=failed
    ) == [{"status": "queued", "error_detail": None}]

    again = await http.post(retry_url, headers=headers)
    assert again.status_code == 409
    assert again.headers["HX-Retarget"] == "#toast"
    assert "não falhou" in again.text

    colleague = await new_browser()
    other_csrf = await panel_login(
        colleague, await factory.user(chat.instance.company_id, Role.OPERATOR)
    )
    hidden = await colleague.post(
        f"/panel/messages/{delivered}/retry", headers={"X-CSRF-Token": other_csrf}
    )
    assert hidden.status_code == 404
