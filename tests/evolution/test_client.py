"""The Evolution client's error translation (against the simulator) and credential sealing."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import httpx
import pytest
from cryptography.fernet import Fernet
from pydantic import SecretStr

from zapcrm.config import Settings
from zapcrm.evolution.client import EvolutionClient
from zapcrm.evolution.credentials import CredentialBox, CredentialError
from zapcrm.evolution.errors import (
    GatewayRejected,
    GatewayUnauthorized,
    GatewayUnavailable,
    InstanceNotFound,
    flatten_message,
)
from zapcrm.evolution.simulator import SimulatorServer

TOKEN = "client-test-token"


@pytest.fixture
async def simulator_url() -> AsyncIterator[str]:
    server = SimulatorServer(
        "127.0.0.1", 0, global_key="g-key", instance="loja", token=TOKEN, mode="test",
        log_level="warning",
    )  # fmt: skip
    task = asyncio.create_task(server.serve())
    await asyncio.wait_for(server.wait_ready(), 10)
    try:
        yield f"http://127.0.0.1:{server.port}"
    finally:
        server.stop()
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.wait_for(task, 10)


async def test_gateway_errors_are_typed_with_the_gateways_reason(simulator_url: str) -> None:
    async with httpx.AsyncClient(timeout=5) as http:
        good = EvolutionClient(http, server_url=simulator_url, instance="loja", token=TOKEN)
        with pytest.raises(GatewayRejected, match="Message not found"):
            await good.media_base64("NOPE")
        wrong_key = EvolutionClient(http, server_url=simulator_url, instance="loja", token="x")
        with pytest.raises(GatewayUnauthorized):
            await wrong_key.media_base64("NOPE")
        unknown = EvolutionClient(http, server_url=simulator_url, instance="outra", token=TOKEN)
        with pytest.raises(InstanceNotFound, match="does not exist"):
            await unknown.media_base64("NOPE")
        down = EvolutionClient(http, server_url="http://127.0.0.1:1", instance="loja", token=TOKEN)
        with pytest.raises(GatewayUnavailable):
            await down.media_base64("NOPE")


def test_response_message_shapes_flatten_to_one_line() -> None:
    assert flatten_message("Unauthorized") == "Unauthorized"
    assert flatten_message(["a", "b"]) == "a; b"
    assert flatten_message([['instance requires property "text"']]) == (
        'instance requires property "text"'
    )
    assert flatten_message([{"jid": "x", "exists": False, "number": "5511"}]) == (
        "o número 5511 não está no WhatsApp"
    )


def test_credentials_are_sealed_and_rotatable(settings: Settings) -> None:
    box = CredentialBox.from_settings(settings)
    sealed = box.seal("segredo-da-instancia")
    assert "segredo" not in sealed
    assert box.open(sealed) == "segredo-da-instancia"
    old, new = Fernet.generate_key(), Fernet.generate_key()
    before = CredentialBox.from_settings(
        settings.model_copy(update={"credentials_key": SecretStr(old.decode())})
    )
    after = CredentialBox.from_settings(
        settings.model_copy(update={"credentials_key": SecretStr(f"{new.decode()},{old.decode()}")})
    )
    assert after.open(before.seal("token")) == "token"  # old ciphertexts still open
    with pytest.raises(CredentialError):
        before.open(after.seal("token"))
