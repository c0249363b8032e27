"""Shared scaffolding for benchmarks: a throwaway migrated database and a `zapcrm` server."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import psycopg
import redis

from zapcrm.cli import alembic_config

ADMIN_URL = os.environ.get("BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/11")


@contextlib.contextmanager
def scratch_database() -> Iterator[str]:
    """A migrated database that is dropped afterwards."""
    from alembic import command

    # A clean Redis DB too: a backlog left by an earlier run would be measured as latency.
    redis.Redis.from_url(REDIS_URL).flushdb()
    name = f"zapcrm_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(ADMIN_URL, autocommit=True) as connection:
        connection.execute(f'create database "{name}"')
    url = ADMIN_URL.rsplit("/", 1)[0] + "/" + name
    try:
        command.upgrade(alembic_config(url), "head")  # type: ignore[arg-type]
        yield url
    finally:
        with psycopg.connect(ADMIN_URL, autocommit=True) as connection:
            connection.execute(f'drop database if exists "{name}" with (force)')


def free_port() -> int:
    """A TCP port nobody listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def zapcrm_process(
    *args: str, database_url: str, env: dict[str, str] | None = None
) -> Iterator[subprocess.Popen[bytes]]:
    """Run a `zapcrm` subcommand against the scratch database; terminated afterwards."""
    zapcrm = Path(sys.executable).with_name("zapcrm")
    environment = {
        **os.environ,
        "DATABASE_URL": database_url,
        "REDIS_URL": REDIS_URL,
        "LOG_LEVEL": "warning",
        "LOG_FORMAT": "json",
        **(env or {}),
    }
    process = subprocess.Popen([str(zapcrm), *args], env=environment)
    try:
        yield process
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()


def wait_ready(base_url: str, timeout: float = 30) -> None:
    """Block until the server answers /readyz."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(httpx.TransportError):
            if httpx.get(base_url + "/readyz", timeout=1).status_code == 200:
                return
        time.sleep(0.2)
    raise RuntimeError("zapcrm web did not become ready")


def percentile(values: list[float], fraction: float) -> float:
    """The value below which `fraction` of the sorted values fall."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * fraction))]
