"""Sustained `messages.upsert` webhooks/s through real HTTP into `zapcrm web`, against a bare
psycopg loop writing the same rows with the same transaction shape, in one run.

    .venv/bin/python -m bench.ingest [--requests 10000] [--concurrency 32] [--web-workers 2]
                                     [--prepare-threshold auto|off|N]

Goal (issue 3), on this 2-core machine: >= 1,000 webhooks/s, p99 <= 50 ms, >= 50% of the bare
loop. The load generator shares the two cores with the server, so the figure is conservative.
wrk is a closed loop: at saturation its latency is connections / rate, so the p99 goal needs
the rate first. CPU per webhook of each side is printed too: on a shared machine it moves much
less than the rate, and 2 cores / CPU per webhook is the ceiling on an idle machine.
`--prepare-threshold` is DATABASE_PREPARE_THRESHOLD for both sides (prepared statements: a
direct connection can, Supabase's transaction pooler cannot); the default is production's,
"auto", which prepares on this direct connection: `off` measures the transaction-pooler case.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import os
import re
import shutil
import statistics
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

import orjson
import psycopg
from psycopg_pool import AsyncConnectionPool

from bench._scratch import (
    CpuMeter,
    free_port,
    percentile,
    scratch_database,
    wait_ready,
    zapcrm_process,
)
from zapcrm.config import load_settings

TOKEN = "bench-token-0123456789"  # noqa: S105 - a scratch instance key


def _setup(url: str) -> tuple[str, str]:
    with psycopg.connect(url, autocommit=True) as connection:
        company = connection.execute(
            "insert into companies (name) values ('Bench') returning id"
        ).fetchone()
        assert company is not None
        instance = connection.execute(
            "insert into evolution_instances (company_id, external_id, server_url, api_key_hash)"
            " values (%s, 'bench', 'https://evo.bench', %s) returning id",
            (company[0], hashlib.sha256(TOKEN.encode()).hexdigest()),
        ).fetchone()
        assert instance is not None
    return str(company[0]), str(instance[0])


_WRK_SCRIPT = """
counter = 0
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
local template = %s
request = function()
  counter = counter + 1
  local id = string.format("%%08d%%05d", counter, math.random(0, 99999))
  local phone = string.format("55119%%08d", counter %% CUSTOMERS)
  local body = template:gsub("KEYID", id):gsub("PHONE", phone)
  return wrk.format(nil, "/webhooks/evolution", nil, body)
end
"""


def _wrk_load(
    base_url: str, seconds: int, connections: int, customers: int
) -> tuple[float, dict[str, float]]:
    """Drive the server with wrk (C, so the load generator does not eat the server's CPU)."""
    if shutil.which("wrk") is None:
        raise SystemExit("bench/ingest.py needs wrk: apt-get install wrk")
    template = orjson.dumps(
        {
            "event": "messages.upsert",
            "instance": "bench",
            "data": {
                "key": {"remoteJid": "PHONE@s.whatsapp.net", "fromMe": False, "id": "BKEYID"},
                "pushName": "Cliente",
                "status": "DELIVERY_ACK",
                "message": {"conversation": "mensagem de teste"},
                "messageType": "conversation",
                "messageTimestamp": 1763326182,
            },
            "date_time": "2025-11-16T17:49:42.155Z",
            "server_url": "https://evo.bench",
            "apikey": TOKEN,
        }
    ).decode()
    lua = _WRK_SCRIPT.replace("CUSTOMERS", str(customers)) % ("[[" + template + "]]")
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(lua)
    result = subprocess.run(
        [
            "wrk",
            "-t2",
            f"-c{connections}",
            f"-d{seconds}s",
            "--latency",
            "-s",
            script.name,
            base_url,
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    Path(script.name).unlink()
    output = result.stdout
    if "Non-2xx" in output:
        raise RuntimeError("some webhooks were not accepted:\n" + output)
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))  # type: ignore[union-attr]
    latency = {
        label: _ms(value)
        # wrk pads a value in seconds ("99%    1.50s "): the spaces after it are not its end.
        for label, value in re.findall(r"^\s+(50|75|90|99)%\s+(\S+)\s*$", output, re.MULTILINE)
    }
    return rate, latency


def _ms(value: str) -> float:
    number = float(re.match(r"[\d.]+", value).group(0))  # type: ignore[union-attr]
    if value.endswith("us"):
        return number / 1000
    if value.endswith("ms"):
        return number
    return number * 1000


async def _bare_loop(
    url: str,
    company: str,
    instance: str,
    args: argparse.Namespace,
) -> tuple[float, list[float], CpuMeter]:
    requests: int = args.requests
    concurrency: int = args.concurrency
    customers: int = args.customers
    latencies: list[float] = []
    counter = iter(range(requests))
    async with AsyncConnectionPool(
        url,
        min_size=concurrency,
        max_size=concurrency,
        open=False,
        # The server's own choice for this URL, so both sides plan (or not) alike.
        kwargs={"prepare_threshold": _prepare_threshold(url, args.prepare_threshold)},
    ) as pool:

        async def one(index: int) -> None:
            phone = f"55219{index % customers:08d}"
            key_id = f"BARE{index:012d}{uuid.uuid4().hex[:6]}"
            async with pool.connection() as connection, connection.transaction():
                await connection.execute(
                    "select id, company_id, api_key_hash from evolution_instances"
                    " where external_id = 'bench'"
                )
                found = await (
                    await connection.execute(
                        "select contact_id from contact_identities where company_id = %s"
                        " and (kind, value) in (('phone', %s), ('jid', %s))",
                        (company, phone, phone + "@s.whatsapp.net"),
                    )
                ).fetchone()
                if found is None:
                    contact = await (
                        await connection.execute(
                            "insert into contacts (company_id, name, phone_e164)"
                            " values (%s, 'C', %s) returning id",
                            (company, "+" + phone),
                        )
                    ).fetchone()
                    assert contact is not None
                    await connection.execute(
                        "insert into contact_identities (company_id, contact_id, kind, value)"
                        " values (%s, %s, 'phone', %s), (%s, %s, 'jid', %s)"
                        " on conflict do nothing",
                        (
                            company,
                            contact[0],
                            phone,
                            company,
                            contact[0],
                            phone + "@s.whatsapp.net",
                        ),
                    )
                    contact_id = contact[0]
                else:
                    contact_id = found[0]
                conversation = await (
                    await connection.execute(
                        "insert into evolution_conversations (company_id, instance_id, remote_jid,"
                        " contact_id) values (%s, %s, %s, %s) on conflict (instance_id, remote_jid)"
                        " do update set contact_id = excluded.contact_id returning id",
                        (company, instance, phone + "@s.whatsapp.net", contact_id),
                    )
                ).fetchone()
                assert conversation is not None
                message = await (
                    await connection.execute(
                        "insert into evolution_messages (company_id, instance_id, conversation_id,"
                        " key_id, from_me, remote_jid, type, body, message_payload, raw_payload,"
                        " status, message_timestamp) values (%s, %s, %s, %s, false, %s, 'text',"
                        " 'x', '{}', '{}', 'DELIVERY_ACK', now()) on conflict (instance_id, key_id)"
                        " do nothing returning id",
                        (company, instance, conversation[0], key_id, phone),
                    )
                ).fetchone()
                assert message is not None
                await connection.execute(
                    "update evolution_conversations set last_message_id = %s,"
                    " last_message_at = now(), unread_count = unread_count + 1 where id = %s",
                    (message[0], conversation[0]),
                )
                await connection.execute(
                    "insert into conversation_cycles (company_id, conversation_id, started_at)"
                    " values (%s, %s, now()) on conflict (conversation_id) where closed_at is null"
                    " do nothing",
                    (company, conversation[0]),
                )
                await connection.execute(
                    "update contacts set last_interaction_at = now() where id = %s", (contact_id,)
                )
                await connection.execute(
                    "insert into outbox (company_id, stream, payload) values (%s, 's', '{}')",
                    (company,),
                )

        async def worker() -> None:
            for index in counter:
                started = time.perf_counter()
                await one(index)
                latencies.append((time.perf_counter() - started) * 1000)

        started = time.perf_counter()
        # Measured before the pool closes: its backends take their CPU figures with them.
        with CpuMeter({"client": os.getpid()}, url) as meter:
            await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
    return requests / elapsed, latencies, meter


def _prepare_threshold(url: str, setting: str) -> int | None:
    value = int(setting) if setting.isdigit() else setting
    return load_settings(database_url=url, database_prepare_threshold=value).prepare_threshold


def _report(label: str, rate: float, latencies: list[float]) -> str:
    return (
        f"{label:<34} {rate:8.0f}/s   p50 {statistics.median(latencies):6.1f} ms"
        f"   p99 {percentile(latencies, 0.99):6.1f} ms"
    )


def main() -> None:
    """Run both sides and print the comparison."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--requests", type=int, default=10_000, help="for the bare loop")
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--customers", type=int, default=500)
    parser.add_argument("--web-workers", type=int, default=2)
    parser.add_argument("--prepare-threshold", default="auto", help="auto, off or a number")
    args = parser.parse_args()
    with scratch_database() as url:
        company, instance = _setup(url)
        port = free_port()
        base_url = f"http://127.0.0.1:{port}"
        env = {"DATABASE_PREPARE_THRESHOLD": args.prepare_threshold}
        with zapcrm_process(
            "web", "--port", str(port), "--workers", str(args.web_workers), database_url=url,
            env=env,
        ) as web:  # fmt: skip
            wait_ready(base_url)
            _wrk_load(base_url, 2, 8, args.customers)  # warm-up: pools, plans, first contacts
            with CpuMeter({"web": web.pid}, url) as meter:
                rate, latency = _wrk_load(base_url, args.seconds, args.concurrency, args.customers)
        bare_rate, bare_latencies, bare_meter = asyncio.run(
            _bare_loop(url, company, instance, args)
        )
    p99 = latency["99"]
    print(
        f"messages.upsert, {args.concurrency} connections, {args.customers} customers,"
        f" prepare threshold {_prepare_threshold(url, args.prepare_threshold) or 'off'}"
    )
    print(
        f"{'zapcrm web (HTTP, full pipeline)':<34} {rate:8.0f}/s   p50 {latency['50']:6.1f} ms"
        f"   p99 {p99:6.1f} ms"
    )
    print(f"  CPU per webhook: {meter.per_item(round(rate * args.seconds))}")
    print(_report("bare psycopg loop (same writes)", bare_rate, bare_latencies))
    print(f"  CPU per delivery: {bare_meter.per_item(args.requests)}")
    print(
        f"ratio {rate / bare_rate:.0%} of bare"
        f"   goals: >=1000/s {'MET' if rate >= 1000 else 'NOT MET'}"
        f", p99<=50ms {'MET' if p99 <= 50 else 'NOT MET'}"
        f", >=50% of bare {'MET' if rate >= bare_rate / 2 else 'NOT MET'}"
    )


if __name__ == "__main__":
    main()
