"""Sends/s from the API call to gateway-accepted, through the queue and the send worker, to the
Evolution API simulator; baseline in the same run: direct httpx sendText calls to the simulator.

    .venv/bin/python -m bench.outbound [--messages 2000] [--concurrency 16]

Goal (issue 4): >= 500 sends/s unthrottled on this machine. Last run: both sides about 20/s,
because the simulator itself answers only that fast here (each send also makes it post four
webhooks); a faster gateway stand-in is needed before this figure says anything about zapcrm.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import sys
import time
from pathlib import Path

import httpx
import psycopg

from bench._scratch import (
    REDIS_URL,
    free_port,
    scratch_database,
    wait_ready,
    zapcrm_process,
)
from zapcrm.config import load_settings
from zapcrm.evolution.credentials import CredentialBox
from zapcrm.evolution.instances import hash_api_key
from zapcrm.evolution.simulator import SimulatorServer

GLOBAL_KEY = "bench-global-key"
TOKEN = "bench-outbound-token"  # noqa: S105 - a scratch instance key
PASSWORD = "bench-outbound-pass"  # noqa: S105 - a scratch login
CUSTOMER = "5511976540000"


def _setup(url: str, sim_url: str) -> tuple[str, str]:
    sealed = CredentialBox.from_settings(load_settings(environment="test")).seal(TOKEN)
    with psycopg.connect(url, autocommit=True) as connection:
        company = connection.execute(
            "insert into companies (name) values ('Bench') returning id"
        ).fetchone()
        assert company is not None
        instance = connection.execute(
            "insert into evolution_instances (company_id, external_id, server_url, api_key_hash,"
            " api_key_ciphertext, connection_state) values (%s, 'bench', %s, %s, %s, 'open')"
            " returning id",
            (company[0], sim_url, hash_api_key(TOKEN), sealed),
        ).fetchone()
        assert instance is not None
        conversation = connection.execute(
            "insert into evolution_conversations (company_id, instance_id, remote_jid)"
            " values (%s, %s, %s) returning id",
            (company[0], instance[0], f"{CUSTOMER}@s.whatsapp.net"),
        ).fetchone()
        assert conversation is not None
    return str(company[0]), str(conversation[0])


async def _through_zapcrm(
    base_url: str, url: str, conversation_id: str, messages: int, concurrency: int
) -> float:
    async with httpx.AsyncClient(base_url=base_url, timeout=60) as http:
        login = await http.post(
            "/api/auth/login", json={"email": "admin@bench.example.com", "password": PASSWORD}
        )
        headers = {"Authorization": f"Bearer {login.json()['access_token']}"}
        counter = iter(range(messages))
        started = time.perf_counter()

        async def client() -> None:
            for index in counter:
                response = await http.post(
                    f"/api/conversations/{conversation_id}/messages",
                    json={"text": f"envio {index}"},
                    headers=headers,
                )
                assert response.status_code == 202, response.text

        await asyncio.gather(*(client() for _ in range(concurrency)))
    async with await psycopg.AsyncConnection.connect(url) as connection:
        while True:
            row = await (
                await connection.execute(
                    "select count(*) from evolution_messages where from_me and key_id is not null"
                )
            ).fetchone()
            assert row is not None
            if row[0] >= messages:
                break
            await asyncio.sleep(0.05)
    return messages / (time.perf_counter() - started)


async def _direct(sim_url: str, messages: int, concurrency: int) -> float:
    async with httpx.AsyncClient(base_url=sim_url, timeout=60, headers={"apikey": TOKEN}) as http:
        counter = iter(range(messages))
        started = time.perf_counter()

        async def client() -> None:
            for index in counter:
                response = await http.post(
                    "/message/sendText/bench", json={"number": CUSTOMER, "text": f"direto {index}"}
                )
                assert response.status_code == 201, response.text

        await asyncio.gather(*(client() for _ in range(concurrency)))
        return messages / (time.perf_counter() - started)


async def _run(url: str, messages: int, concurrency: int) -> None:
    sim_port = free_port()
    sim_url = f"http://127.0.0.1:{sim_port}"
    web_port = free_port()
    base_url = f"http://127.0.0.1:{web_port}"
    simulator = SimulatorServer(
        "127.0.0.1", sim_port, global_key=GLOBAL_KEY, webhook_url=base_url + "/webhooks/evolution",
        instance="bench", token=TOKEN, mode="test", time_scale=0.001, log_level="warning",
    )  # fmt: skip
    task = asyncio.create_task(simulator.serve())
    await simulator.wait_ready()
    async with httpx.AsyncClient(base_url=sim_url, headers={"apikey": GLOBAL_KEY}) as control:
        await control.post("/_sim/customers", json={"phone": CUSTOMER, "name": "Cliente"})
    company_id, conversation_id = _setup(url, sim_url)
    # Unthrottled, as the goal says: the per-instance pace would cap one instance at its rate.
    env = {"WORKER_METRICS_PORT": "0", "SEND_MIN_INTERVAL_MS": "0"}
    create = await asyncio.create_subprocess_exec(
        str(Path(sys.executable).with_name("zapcrm")), "user", "create",
        "--company", company_id, "--email", "admin@bench.example.com", "--password", PASSWORD,
        "--role", "admin",
        env={**os.environ, "DATABASE_URL": url, "REDIS_URL": REDIS_URL},
    )  # fmt: skip
    await create.wait()
    try:
        with (
            zapcrm_process("web", "--port", str(web_port), database_url=url, env=env),
            zapcrm_process("worker", database_url=url, env=env),
        ):
            wait_ready(base_url)
            zapcrm_rate = await _through_zapcrm(
                base_url, url, conversation_id, messages, concurrency
            )
        direct_rate = await _direct(sim_url, messages, concurrency)
    finally:
        simulator.stop()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    print(f"{messages} text sends, {concurrency} concurrent clients, one instance")
    print(f"  through zapcrm (API -> queue -> worker -> gateway accepted) {zapcrm_rate:8.0f}/s")
    print(f"  direct httpx sendText to the simulator                      {direct_rate:8.0f}/s")
    print(
        f"  ratio {zapcrm_rate / direct_rate:.0%}   goal >= 500/s:"
        f" {'MET' if zapcrm_rate >= 500 else 'NOT MET'}"
    )
    print(
        "  note: the worker sends one message at a time per instance (order_key), as WhatsApp"
        " numbers get flagged for bursts; the direct baseline has no such rule"
    )


def main() -> None:
    """Parse arguments and run both sides."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=16)
    args = parser.parse_args()
    with scratch_database() as url:
        asyncio.run(_run(url, args.messages, args.concurrency))


if __name__ == "__main__":
    main()
