"""Sends/s from the API call to gateway-accepted (WhatsApp key id stored), through the outbox, the
queue and the send worker, to the Evolution API simulator; baseline in the same run: direct
httpx sendText calls to the same simulator, so the figure says whether the gateway is the limit.

    .venv/bin/python -m bench.outbound [--messages 3000] [--instances 8] [--customers 256]
                                       [--concurrency 16] [--webhooks]

Goal (issue 4): >= 500 sends/s unthrottled on this machine. The shape is a campaign: several
WhatsApp instances (sends through one instance never overlap, by design), pacing off
(SEND_MIN_INTERVAL_MS=0), many customers whose numbers were already checked (a campaign's list
is; the worker checks at most 30 new numbers a minute per instance). The simulator runs in its
own process on uvloop: served from this process' loop it capped both sides at ~20/s, mostly by
posting four webhooks per send back into zapcrm (the echo and three acks). Those webhooks are
the inbound pipeline (bench/ingest.py), so they are off unless `--webhooks` asks for them.
CPU per send of each process is printed too: on a shared machine it moves less than the rate.
So are Redis commands per send (INFO commandstats over the run, by name; commands inside Lua
scripts count, and a pipeline's commands count one by one although they share a round trip).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import httpx
import orjson
import psycopg
import redis

from bench._scratch import (
    REDIS_URL,
    CpuMeter,
    free_port,
    scratch_database,
    wait_ready,
    zapcrm_process,
)
from zapcrm.config import load_settings
from zapcrm.evolution.credentials import CredentialBox
from zapcrm.evolution.instances import hash_api_key

GLOBAL_KEY = "bench-global-key"
PASSWORD = "bench-outbound-pass"  # noqa: S105 - a scratch login


def _token(index: int) -> str:
    return f"bench-outbound-token-{index:03d}"


def _customer(index: int) -> str:
    return f"55119765{index:05d}"


def _instance_of(customer: int, instances: int) -> int:
    return customer % instances


@contextlib.contextmanager
def _gateway(port: int) -> Iterator[tuple[str, int]]:
    """The simulator in its own process (bench/_gateway.py)."""
    process = subprocess.Popen(
        [sys.executable, "-m", "bench._gateway", "--port", str(port), "--global-key", GLOBAL_KEY],
        env={**os.environ, "LOG_LEVEL": "warning"},
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with contextlib.suppress(httpx.TransportError):
                httpx.get(url + "/", timeout=1)
                break
            time.sleep(0.1)
        yield url, process.pid
    finally:
        process.terminate()
        process.wait(timeout=20)


def _prepare_gateway(sim_url: str, instances: int, customers: int, webhook_url: str | None) -> None:
    with httpx.Client(base_url=sim_url, headers={"apikey": GLOBAL_KEY}) as control:
        for index in range(instances):
            name = f"bench-{index}"
            body: dict[str, object] = {
                "instanceName": name, "token": _token(index), "integration": "WHATSAPP-BAILEYS",
            }  # fmt: skip
            if webhook_url is not None:
                # How zapcrm configures an instance: every event, the apikey as a header.
                body["webhook"] = {
                    "enabled": True, "url": webhook_url, "byEvents": False, "events": [],
                    "headers": {"apikey": _token(index)},
                }  # fmt: skip
            control.post("/instance/create", json=body).raise_for_status()
            control.post(
                f"/_sim/instances/{name}/connection", json={"action": "pair"}
            ).raise_for_status()
        for customer in range(customers):
            control.post(
                "/_sim/customers",
                json={"phone": _customer(customer), "name": f"Cliente {customer}"},
            ).raise_for_status()


def _setup(url: str, sim_url: str, instances: int, customers: int) -> tuple[str, list[str]]:
    """The company, its instances and one conversation per customer (numbers checked)."""
    box = CredentialBox.from_settings(load_settings(environment="test"))
    instance_ids: list[str] = []
    conversations: list[str] = []
    with psycopg.connect(url, autocommit=True) as connection:
        company = connection.execute(
            "insert into companies (name) values ('Bench') returning id"
        ).fetchone()
        assert company is not None
        for index in range(instances):
            instance = connection.execute(
                "insert into evolution_instances (company_id, external_id, server_url,"
                " api_key_hash, api_key_ciphertext, connection_state)"
                " values (%s, %s, %s, %s, %s, 'open') returning id",
                (
                    company[0],
                    f"bench-{index}",
                    sim_url,
                    hash_api_key(_token(index)),
                    box.seal(_token(index)),
                ),
            ).fetchone()
            assert instance is not None
            instance_ids.append(str(instance[0]))
        for customer in range(customers):
            conversation = connection.execute(
                "insert into evolution_conversations (company_id, instance_id, remote_jid)"
                " values (%s, %s, %s) returning id",
                (
                    company[0],
                    instance_ids[_instance_of(customer, instances)],
                    f"{_customer(customer)}@s.whatsapp.net",
                ),
            ).fetchone()
            assert conversation is not None
            conversations.append(str(conversation[0]))
    # What the send worker's number check would have cached (sending.py `_number`).
    cache = redis.Redis.from_url(REDIS_URL)
    for customer in range(customers):
        digits = _customer(customer)
        instance_id = instance_ids[_instance_of(customer, instances)]
        cache.set(
            f"evolution:numbers:{instance_id}:{digits}",
            orjson.dumps({"exists": True, "jid": f"{digits}@s.whatsapp.net"}),
            ex=3600,
        )
    return str(company[0]), conversations


async def _through_zapcrm(
    base_url: str, url: str, conversations: list[str], messages: int, concurrency: int
) -> tuple[float, float]:
    """(API-accepted sends/s, gateway-accepted sends/s), both from the first request."""
    async with httpx.AsyncClient(base_url=base_url, timeout=60) as http:
        login = await http.post(
            "/api/auth/login", json={"email": "admin@bench.example.com", "password": PASSWORD}
        )
        headers = {"Authorization": f"Bearer {login.json()['access_token']}"}
        counter = iter(range(messages))
        started = time.perf_counter()

        async def client() -> None:
            for index in counter:
                conversation_id = conversations[index % len(conversations)]
                response = await http.post(
                    f"/api/conversations/{conversation_id}/messages",
                    json={"text": f"envio {index}"},
                    headers=headers,
                )
                assert response.status_code == 202, response.text

        await asyncio.gather(*(client() for _ in range(concurrency)))
        accepted = messages / (time.perf_counter() - started)
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
            await asyncio.sleep(0.02)
    return accepted, messages / (time.perf_counter() - started)


async def _direct(sim_url: str, args: argparse.Namespace) -> float:
    async with httpx.AsyncClient(base_url=sim_url, timeout=60) as http:
        counter = iter(range(args.messages))
        started = time.perf_counter()

        async def client() -> None:
            for index in counter:
                customer = index % args.customers
                instance = _instance_of(customer, args.instances)
                response = await http.post(
                    f"/message/sendText/bench-{instance}",
                    json={"number": _customer(customer), "text": f"direto {index}"},
                    headers={"apikey": _token(instance)},
                )
                assert response.status_code == 201, response.text

        await asyncio.gather(*(client() for _ in range(args.concurrency)))
        messages: int = args.messages
        return messages / (time.perf_counter() - started)


def _redis_commands() -> Counter[str]:
    """Commands Redis ran so far, by name (INFO commandstats: every client of the server)."""
    stats = redis.Redis.from_url(REDIS_URL).info("commandstats")
    return Counter(
        {name.removeprefix("cmdstat_"): int(row["calls"]) for name, row in stats.items()}
    )


def _run(url: str, args: argparse.Namespace) -> None:
    web_port = free_port()
    base_url = f"http://127.0.0.1:{web_port}"
    with _gateway(free_port()) as (sim_url, gateway):
        webhook_url = base_url + "/webhooks/evolution" if args.webhooks else None
        _prepare_gateway(sim_url, args.instances, args.customers, webhook_url)
        company_id, conversations = _setup(url, sim_url, args.instances, args.customers)
        # Unthrottled, as the goal says: the per-instance pace would cap each instance.
        env = {"WORKER_METRICS_PORT": "0", "SEND_MIN_INTERVAL_MS": "0"}
        subprocess.run(
            [
                str(Path(sys.executable).with_name("zapcrm")), "user", "create",
                "--company", company_id, "--email", "admin@bench.example.com",
                "--password", PASSWORD, "--role", "admin",
            ],
            env={**os.environ, "DATABASE_URL": url, "REDIS_URL": REDIS_URL},
            check=True,
        )  # fmt: skip
        with (
            zapcrm_process(
                "web", "--port", str(web_port), "--workers", str(args.web_workers),
                database_url=url, env=env,
            ) as web,
            zapcrm_process("worker", database_url=url, env=env) as worker,
        ):  # fmt: skip
            wait_ready(base_url)
            roots = {"web": web.pid, "worker": worker.pid, "gateway": gateway}
            commands_before = _redis_commands()
            with CpuMeter(roots | {"client": os.getpid()}, url) as meter:
                accepted, sent = asyncio.run(
                    _through_zapcrm(base_url, url, conversations, args.messages, args.concurrency)
                )
            commands = _redis_commands() - commands_before
        direct = asyncio.run(_direct(sim_url, args))
    print(
        f"{args.messages} text sends to {args.customers} customers, {args.concurrency} concurrent"
        f" clients, {args.instances} instances, {args.web_workers} web worker(s), pacing off,"
        f" webhooks {'on (echo + acks into zapcrm)' if args.webhooks else 'off'}"
    )
    print(f"  accepted by the API (202)                                  {accepted:8.0f}/s")
    print(f"  through zapcrm (API -> queue -> worker -> gateway accepted) {sent:8.0f}/s")
    print(f"  direct httpx sendText to the simulator                      {direct:8.0f}/s")
    print(f"  CPU per send: {meter.per_item(args.messages)}")
    busiest = commands.most_common(10)
    print(
        f"  Redis commands per send: {commands.total() / args.messages:.1f} ("
        + ", ".join(f"{name} {count / args.messages:.1f}" for name, count in busiest)
        + ")"
    )
    print(f"  ratio {sent / direct:.0%}   goal >= 500/s: {'MET' if sent >= 500 else 'NOT MET'}")


def main() -> None:
    """Parse arguments and run both sides."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--messages", type=int, default=3000)
    parser.add_argument("--instances", type=int, default=8)
    parser.add_argument("--customers", type=int, default=256)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--web-workers", type=int, default=1)
    parser.add_argument("--webhooks", action="store_true", help="acks and echoes into zapcrm")
    args = parser.parse_args()
    with scratch_database() as url:
        _run(url, args)


if __name__ == "__main__":
    main()
