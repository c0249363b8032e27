"""Fixtures of the messaging tests: a company on the simulated gateway, and Rita's chat in it."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from tests.conftest import SIMULATOR_KEY, Factory
from tests.messaging.gateway import CustomerChat, Gateway
from zapcrm.db import Database
from zapcrm.runtime import Runtime


@pytest.fixture
async def gateway(
    simulator: tuple[str, str, str],
    live_server: str,
    db: Database,
    factory: Factory,
    runtime: Runtime,
) -> AsyncIterator[Gateway]:
    """A new company owning the simulator's instance, connected, Rita known to WhatsApp; the
    simulator's control client is closed after the test, whatever its outcome."""
    async with httpx.AsyncClient(
        base_url=simulator[0], timeout=10, headers={"apikey": SIMULATOR_KEY}
    ) as sim:
        yield await Gateway.connect(sim, simulator, live_server, db, factory, runtime)


@pytest.fixture
async def customer_chat(gateway: Gateway) -> CustomerChat:
    """Rita has written "Oi" to the gateway's company; an admin of it is there to answer."""
    return await CustomerChat.open(gateway)
