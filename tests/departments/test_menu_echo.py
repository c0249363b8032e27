"""The menu's lines stay out of the inbox even when WhatsApp's echo of one beats the send's
answer: the chat's latest line stays the customer's, who still waits for a person."""

from __future__ import annotations

from tests.conftest import login
from tests.messaging.conftest import gateway  # noqa: F401
from tests.messaging.gateway import Gateway
from zapcrm.models import Role

GREETING = "Olá! Com quem você quer falar?"


async def test_an_echo_of_the_menu_that_beats_the_send_answer_leaves_the_chat_waiting(
    gateway: Gateway,  # noqa: F811
    live_worker: None,
) -> None:
    admin = await gateway.user(Role.ADMIN)
    async with gateway.app() as app:
        headers = await login(app, admin)
        created = await app.post("/api/departments", json={"name": "Vendas"}, headers=headers)
        assert created.status_code == 201, created.text
        body = {"enabled": True, "greeting": GREETING}
        saved = await app.put("/api/departments/menu", json=body, headers=headers)
        assert saved.status_code == 200, saved.text
    await gateway.clock_to_now()
    # WhatsApp takes the menu and echoes it, then the gateway answers 500: the echo is stored
    # as a message of its own first (the chat's latest), folded into ours on the retry.
    await gateway.set_faults(rest_error_rate=1.0, rest_error_after_send=True)
    await gateway.customer_writes("Boa tarde!")
    row = await gateway.until_automatic_answer_keyed()
    assert (row["last_message_from_me"], row["last_message_preview"]) == (False, "Boa tarde!")
    assert row["last_outbound_at"] is None
