"""An Evolution server that gives no answer is left alone for a growing wait (sending.py rule 7,
reachability.py): its instances' jobs wait without a call, one probe goes out when the wait is
over, and the probe's answer lets every send through again."""

from __future__ import annotations

import asyncio
import time
import uuid

import httpx
import pytest
from sqlalchemy import text

from tests.conftest import Factory
from tests.messaging.chats import acting_as, move_to_server, new_chat
from tests.messaging.gateway import CustomerChat
from tests.net import refusing_url, silent_server
from zapcrm.db import Database
from zapcrm.evolution.client import EvolutionClient
from zapcrm.evolution.credentials import CredentialBox
from zapcrm.evolution.errors import GatewayUnreachable
from zapcrm.messaging.reachability import (
    FIRST_WAIT,
    PROBE_WAIT,
    Passage,
    ServerReachability,
    mark_key,
)
from zapcrm.messaging.sending import OutgoingHandler
from zapcrm.messaging.service import outbound
from zapcrm.models import Role
from zapcrm.runtime import Runtime
from zapcrm.worker import DeferJob, Job, PermanentJobError

OUTGOING_STREAM = "evolution:outgoing-messages"


async def _queued_send_on(
    server_url: str, client: httpx.AsyncClient, db: Database, factory: Factory
) -> dict[str, str]:
    """A connected instance of a new company on `server_url` with one text queued; returns
    its send job's payload."""
    chat = await new_chat(client, db, factory, phone=f"55119{uuid.uuid4().int % 10**8:08d}")
    await move_to_server(db, chat.instance.instance_id, server_url)
    actor = acting_as(await factory.user(chat.instance.company_id, Role.ADMIN))
    async with db.tenant_session(actor.claims) as session:
        message, _items = await outbound.queue_text(
            session, actor, chat.conversation_id, text="Seu pedido saiu para entrega"
        )
    return {"message_id": str(message.id), "instance_id": str(chat.instance.instance_id)}


async def test_the_wait_doubles_with_each_failure_and_one_probe_goes_out_after_it(
    runtime: Runtime,
) -> None:
    servers = ServerReachability(runtime.redis)
    url = f"https://evo-{uuid.uuid4().hex[:8]}.example.com"

    async def wait_left() -> float:
        return (await servers.passage(url, "loja")).wait

    try:
        assert await wait_left() == 0
        await servers.unanswered(url, None)
        assert 0 < await wait_left() <= FIRST_WAIT
        await servers.unanswered(url, None)
        assert FIRST_WAIT < await wait_left() <= 2 * FIRST_WAIT

        # The wait is over: the first caller probes, the others wait for its answer.
        await runtime.redis.hset(mark_key(url), "until_ms", int((time.time() - 1) * 1000))
        assert await servers.passage(url, "loja") == Passage(wait=0, probe=mark_key(url))
        assert await servers.passage(url, "outra") == Passage(wait=PROBE_WAIT, probe=None)
        # A probe whose job made no call hands the turn on at once.
        await servers.release(mark_key(url))
        assert await servers.passage(url, "outra") == Passage(wait=0, probe=mark_key(url))

        # The probe got no answer either: the next wait is longer still.
        await servers.unanswered(url, None)
        assert 2 * FIRST_WAIT < await wait_left() <= 4 * FIRST_WAIT
        # Any answer clears it. The client calls the URL without its trailing slash.
        await servers.answered(f"{url}/", "outra")
        assert await servers.passage(url, "loja") == Passage(wait=0, probe=None)
    finally:
        await runtime.redis.delete(mark_key(url))


async def test_an_instance_that_never_answers_holds_up_only_itself(runtime: Runtime) -> None:
    """The server took the call and never answered: the instance may be stuck inside
    Evolution, its server's other instances still answer."""
    servers = ServerReachability(runtime.redis)
    url = f"https://evo-{uuid.uuid4().hex[:8]}.example.com"
    try:
        await servers.unanswered(url, "presa")
        assert 0 < (await servers.passage(url, "presa")).wait <= FIRST_WAIT
        assert await servers.passage(url, "livre") == Passage(wait=0, probe=None)
        await servers.answered(url, "presa")
        assert await servers.passage(url, "presa") == Passage(wait=0, probe=None)
    finally:
        await runtime.redis.delete(mark_key(url, "presa"))


class _Heard:
    """A CallWatch that writes down what it is told."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str, str | None]] = []

    async def answered(self, server_url: str, instance: str) -> None:
        self.calls.append(("answered", server_url, instance))

    async def unanswered(self, server_url: str, instance: str | None) -> None:
        self.calls.append(("unanswered", server_url, instance))


async def test_the_client_tells_a_server_out_of_reach_from_a_call_left_unanswered() -> None:
    heard = _Heard()
    refusing = refusing_url()
    async with httpx.AsyncClient(timeout=0.3) as http:
        gone = EvolutionClient(http, server_url=refusing, instance="loja", token="t", watch=heard)
        with pytest.raises(GatewayUnreachable):
            await gone.connection_state()
        async with silent_server() as silent_url:
            stuck = EvolutionClient(
                http, server_url=silent_url, instance="loja", token="t", watch=heard
            )
            with pytest.raises(GatewayUnreachable):
                await stuck.connection_state()
    assert heard.calls == [("unanswered", refusing, None), ("unanswered", silent_url, "loja")]


async def test_a_server_that_gave_no_answer_gets_no_call_from_its_other_instances(
    client: httpx.AsyncClient, db: Database, factory: Factory, runtime: Runtime
) -> None:
    """Two companies' instances on one server that refuses connections: the first send finds
    out, the second is put off for the rest of the wait without calling the server."""
    url = refusing_url()
    first = await _queued_send_on(url, client, db, factory)
    second = await _queued_send_on(url, client, db, factory)
    handler = OutgoingHandler(runtime, CredentialBox.from_settings(runtime.settings))
    try:
        with pytest.raises(GatewayUnreachable):
            await handler(Job(OUTGOING_STREAM, "1-0", first))
        assert await runtime.redis.hget(mark_key(url), "failures") == "1"  # the whole server

        # Deferred, not retried: the wait spends none of the job's attempts.
        with pytest.raises(DeferJob) as later:
            await handler(Job(OUTGOING_STREAM, "2-0", second))

        assert 0 < later.value.delay_seconds <= FIRST_WAIT
        # No second call failed: the server was not called again.
        assert await runtime.redis.hget(mark_key(url), "failures") == "1"  # the whole server
    finally:
        await runtime.redis.delete(mark_key(url))


async def test_a_read_job_waits_for_its_server_no_longer_than_a_send_would(
    client: httpx.AsyncClient, db: Database, factory: Factory, runtime: Runtime
) -> None:
    """Deferrals spend no attempt, so the attempt limit no longer ends a read receipt's wait
    for a dead server: its age does, as a send's does."""
    url = refusing_url()
    chat = await new_chat(client, db, factory, phone=f"55119{uuid.uuid4().int % 10**8:08d}")
    await move_to_server(db, chat.instance.instance_id, url)
    read = {
        "kind": "read",
        "conversation_id": str(chat.conversation_id),
        "instance_id": str(chat.instance.instance_id),
    }
    handler = OutgoingHandler(runtime, CredentialBox.from_settings(runtime.settings))
    await ServerReachability(runtime.redis).unanswered(url, None)
    try:
        just_now = f"{int(time.time() * 1000)}-0"
        with pytest.raises(DeferJob):
            await handler(Job(OUTGOING_STREAM, just_now, read, attempt=0, origin_id=just_now))
        # The same job, first enqueued 20 minutes ago and deferred ever since.
        long_ago = f"{int((time.time() - 20 * 60) * 1000)}-0"
        with pytest.raises(PermanentJobError):
            await handler(Job(OUTGOING_STREAM, just_now, read, attempt=0, origin_id=long_ago))
    finally:
        await runtime.redis.delete(mark_key(url))


async def test_the_probes_answer_lets_the_servers_sends_through_again(
    customer_chat: CustomerChat, live_worker: None, runtime: Runtime
) -> None:
    """The simulator was marked unreachable and its wait is over: the next send is the probe,
    reaches Rita, and clears the mark."""
    gateway = customer_chat.gateway
    [instance] = await _server_of(gateway.db, gateway.company_id)
    key = mark_key(instance)
    await runtime.redis.hset(
        key, mapping={"failures": 3, "until_ms": int((time.time() - 1) * 1000)}
    )
    try:
        message_id = await customer_chat.reply("Chegou sim!")
        await gateway.until_keyed(message_id)
        for _ in range(50):
            if not await runtime.redis.exists(key):
                break
            await asyncio.sleep(0.1)
        assert not await runtime.redis.exists(key)
    finally:
        await runtime.redis.delete(key, f"{key}:probe")


async def _server_of(db: Database, company_id: uuid.UUID) -> list[str]:
    async with db.service_session() as session:
        result = await session.execute(
            text("select server_url from evolution_instances where company_id = :c"),
            {"c": company_id},
        )
        return [row[0] for row in result]
