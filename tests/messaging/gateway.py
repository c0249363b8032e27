"""A company on the simulated WhatsApp gateway, for tests that send for real: its instance
registered and connected, Rita among the simulated WhatsApp's people, and the waits a send's
outcome needs (the worker and the gateway answer in their own time).

The `gateway` fixture (tests/messaging/conftest.py) builds one per test; `customer_chat` adds
Rita's conversation and an admin to answer her. Neither starts the worker: a test that needs it
asks for `live_worker` as well, and one that drives the send handlers itself does not.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
from sqlalchemy import text

from tests.conftest import Factory, UserFixture, login
from tests.evolution.harness import rows
from tests.live import register_simulated_instance
from zapcrm.db import Database
from zapcrm.models import Role
from zapcrm.runtime import Runtime

CUSTOMER = "5511976543210"  # Rita's phone, known to the simulated WhatsApp

Rows = list[dict[str, Any]]


async def until(
    db: Database,
    sql: str,
    params: dict[str, Any],
    done: Callable[[Rows], Any],
    *,
    seconds: float = 15,
) -> Rows:
    """The rows of `sql` once `done` holds for them; fails after `seconds`."""
    found: Rows = []
    for _ in range(int(seconds * 10)):
        found = await rows(db, sql, **params)
        if done(found):
            return found
        await asyncio.sleep(0.1)
    raise AssertionError(f"never reached: {found}")


async def count_from_me(db: Database, conversation_id: Any) -> int:
    """How many of the conversation's messages are ours (queued, sent or echoed)."""
    [row] = await rows(
        db,
        "select count(*) as n from evolution_messages where conversation_id = :c and from_me",
        c=conversation_id,
    )
    return int(row["n"])


@dataclass
class Gateway:
    """The simulator's instance, owned by a new company and connected (state `open`)."""

    company_id: uuid.UUID
    name: str  # the instance's name on the simulator, `external_id` in evolution_instances
    sim: httpx.AsyncClient  # the simulator's control API
    live_server: str
    db: Database
    factory: Factory

    @classmethod
    async def connect(
        cls,
        sim: httpx.AsyncClient,
        simulator: tuple[str, str, str],
        live_server: str,
        db: Database,
        factory: Factory,
        runtime: Runtime,
    ) -> Gateway:
        company_id = await register_simulated_instance(simulator, db, factory, runtime)
        gateway = cls(company_id, simulator[1], sim, live_server, db, factory)
        # Reconnect so the connection.update webhooks reach the now registered instance.
        for action in ("drop", "pair"):
            assert (await gateway.set_connection(action)).status_code < 300
        # `connecting` and `open` may carry the same date_time on the simulator's clock, so
        # concurrent deliveries can leave `connecting` last (more often on a busy machine): then
        # drop and pair once more (pairing an instance the simulator holds open does nothing).
        for _ in range(5):
            if await gateway.connection_state() == "open":
                break
            for action in ("drop", "pair"):
                await gateway.set_connection(action)
        await gateway.until_state(lambda state: state == "open")
        await gateway.new_customer(CUSTOMER, "Rita")
        return gateway

    async def set_connection(self, action: str) -> httpx.Response:
        """Drop, pair or log out the instance on the simulator, and let the webhooks this
        sends land before going on: deliveries run concurrently, and the next change must not
        overtake them."""
        response = await self.sim.post(
            f"/_sim/instances/{self.name}/connection", json={"action": action}
        )
        await self.sim.post("/_sim/drain")
        return response

    async def connection_state(self) -> str | None:
        """The state our database holds for the instance."""
        found = await rows(
            self.db,
            "select connection_state from evolution_instances where external_id = :n",
            n=self.name,
        )
        return str(found[0]["connection_state"]) if found else None

    async def until_state(self, done: Callable[[str], bool]) -> None:
        await until(
            self.db,
            "select connection_state as s from evolution_instances where external_id = :n",
            {"n": self.name},
            lambda r: r and done(r[0]["s"]),
        )

    async def instance_id(self) -> uuid.UUID:
        [row] = await rows(
            self.db, "select id from evolution_instances where external_id = :n", n=self.name
        )
        return uuid.UUID(str(row["id"]))

    async def user(self, role: Role) -> UserFixture:
        """A new member of staff with this role."""
        return await self.factory.user(self.company_id, role)

    def app(self) -> httpx.AsyncClient:
        """A client of the live app (the one the simulator's webhooks reach)."""
        return httpx.AsyncClient(base_url=self.live_server, timeout=10)

    async def new_customer(self, phone: str, name: str, **options: Any) -> None:
        """Someone new on the simulated WhatsApp (`options` as the simulator takes them)."""
        response = await self.sim.post(
            "/_sim/customers", json={"phone": phone, "name": name, **options}
        )
        assert response.status_code == 201, response.text

    async def customer_writes(self, words: str, phone: str = CUSTOMER) -> None:
        """A customer's text reaches the instance (and its webhook, our app)."""
        response = await self.sim.post(
            f"/_sim/instances/{self.name}/inbound",
            json={"from": phone, "type": "text", "text": words},
        )
        assert response.status_code == 201, response.text

    async def until_conversation(self) -> Any:
        """The id of the company's conversation, once a customer's message has opened it."""
        found = await until(
            self.db,
            "select id from evolution_conversations where company_id = :c",
            {"c": self.company_id},
            bool,
        )
        return found[0]["id"]

    async def conversation_with(self, phone: str) -> Any:
        """A conversation with `phone` in which nobody has written yet."""
        async with self.db.service_session() as session:
            return (
                await session.execute(
                    text(
                        "insert into evolution_conversations (company_id, instance_id, remote_jid)"
                        " select company_id, id, :jid from evolution_instances"
                        " where external_id = :n returning id"
                    ),
                    {"n": self.name, "jid": f"{phone}@s.whatsapp.net"},
                )
            ).scalar_one()

    async def clock_to_now(self) -> None:
        """Bring the test simulator's clock (it starts in 2025 and stands still) to a minute
        ago, so its messages are today's, as a live customer's would be."""
        now = (await self.sim.post("/_sim/clock/advance", json={"seconds": 0})).json()["now"]
        ahead = {"seconds": max(0.0, time.time() - now - 60)}
        assert (await self.sim.post("/_sim/clock/advance", json=ahead)).status_code == 200

    async def set_faults(self, **faults: Any) -> None:
        """Make the simulator misbehave for this instance (its /_sim/faults settings)."""
        response = await self.sim.put(f"/_sim/faults?instance={self.name}", json=faults)
        assert response.status_code == 200, response.text

    async def sent(self) -> Rows:
        """The send calls the gateway took, oldest first, as the simulator logs them."""
        found: Rows = (await self.sim.get(f"/_sim/instances/{self.name}/sent")).json()
        return found

    async def until_sent(self, count: int = 1) -> Rows:
        """The send calls once there are `count` of them (or what there is after 15 s)."""
        sent: Rows = []
        for _ in range(150):
            sent = await self.sent()
            if len(sent) >= count:
                break
            await asyncio.sleep(0.1)
        return sent

    async def until_automatic_answer_keyed(self) -> dict[str, Any]:
        """The chat's state once the company's one message of ours (an automatic answer) has
        WhatsApp's key: the gateway's echo may be stored for a moment as a row of its own,
        until the send's answer folds it into ours, so this waits for the one row."""
        [row] = await until(
            self.db,
            "select m.key_id, c.last_message_from_me, c.last_message_preview,"
            " c.last_outbound_at"
            " from evolution_messages m join evolution_conversations c on c.id = m.conversation_id"
            " where m.company_id = :c and m.from_me",
            {"c": self.company_id},
            lambda found: len(found) == 1 and found[0]["key_id"],
        )
        return dict(row)

    async def until_keyed(self, message_id: Any, *, seconds: float = 15) -> dict[str, Any]:
        """Our message's row once the gateway has taken it: it has WhatsApp's key id."""
        [row] = await until(
            self.db,
            "select key_id, status, error_detail from evolution_messages where id = :id",
            {"id": message_id},
            lambda r: r and r[0]["key_id"] is not None,
            seconds=seconds,
        )
        return row

    async def until_status(self, message_id: Any, status: str) -> dict[str, Any]:
        """Our message's row once it has reached `status`."""
        [row] = await until(
            self.db,
            "select key_id, status, error_detail from evolution_messages where id = :id",
            {"id": message_id},
            lambda r: r and r[0]["status"] == status,
        )
        return row


@dataclass
class CustomerChat:
    """Rita's conversation on a connected gateway (she wrote "Oi"), and an admin to answer."""

    gateway: Gateway
    conversation_id: Any
    admin: UserFixture

    @classmethod
    async def open(cls, gateway: Gateway) -> CustomerChat:
        admin = await gateway.user(Role.ADMIN)
        await gateway.customer_writes("Oi")
        return cls(gateway, await gateway.until_conversation(), admin)

    async def reply(self, text: str) -> str:
        """The admin answers through the API; returns the queued message's id."""
        async with self.gateway.app() as app:
            response = await app.post(
                f"/api/conversations/{self.conversation_id}/messages",
                json={"text": text},
                headers=await login(app, self.admin),
            )
        assert response.status_code == 202, response.text
        return str(response.json()["id"])
