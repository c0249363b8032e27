"""Shared scaffolding for benchmarks: a throwaway migrated database and a `zapcrm` server."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path

import httpx
import psycopg
import redis

from zapcrm.auth.identity import Identity
from zapcrm.cli import alembic_config
from zapcrm.models import Role

ADMIN_URL = os.environ.get("BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/11")
# A schema before a migration, to measure what it changes in the same session as the head
# (e.g. BENCH_REVISION=0052): the code is the same, only the database is older.
REVISION = os.environ.get("BENCH_REVISION", "head")


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
        command.upgrade(alembic_config(url), REVISION)  # type: ignore[arg-type]
        if os.environ.get("BENCH_LOG_SQL"):
            # Every statement of the run, with its duration, in the server's log: how the
            # per-send and per-webhook statement counts in the README were taken.
            with psycopg.connect(ADMIN_URL, autocommit=True) as connection:
                connection.execute(f'alter database "{name}" set log_min_duration_statement = 0')
        yield url
    finally:
        with psycopg.connect(ADMIN_URL, autocommit=True) as connection:
            connection.execute(f'drop database if exists "{name}" with (force)')


@contextlib.contextmanager
def kept_database(label: str) -> Iterator[str]:
    """A migrated database that outlives the run, `zapcrm_bench_<label>_<revision>`: created
    and migrated by the first run, reused as it is by the next ones (a bench that seeds minutes
    of rows keeps them for before/after runs of one change; drop it by hand)."""
    from alembic import command

    name = f"zapcrm_bench_{label}_{REVISION}"
    with psycopg.connect(ADMIN_URL, autocommit=True) as connection:
        exists = connection.execute(
            "select 1 from pg_database where datname = %s", (name,)
        ).fetchone()
        if exists is None:
            connection.execute(f'create database "{name}"')
    url = ADMIN_URL.rsplit("/", 1)[0] + "/" + name
    if exists is None:
        # Migrated only when created, so the code of another checkout can read it.
        command.upgrade(alembic_config(url), REVISION)  # type: ignore[arg-type]
    yield url


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


Runner = Callable[[], Awaitable[int]]


async def timed(run: Runner, count: int) -> list[float]:
    """Run `count` times in a row; each run's duration in milliseconds."""
    timings = []
    for _ in range(count):
        started = time.perf_counter()
        await run()
        timings.append((time.perf_counter() - started) * 1000)
    return timings


def identity(company_id: uuid.UUID, user_id: uuid.UUID, role: Role) -> Identity:
    """A seeded user as the services see them (the claims a tenant transaction sets)."""
    return Identity(
        user_id=user_id,
        company_id=company_id,
        role=role,
        email=f"{role.value}@bench.local",
        display_name="Bench",
        session_id=None,
        claims={"sub": str(user_id), "role": "authenticated", "aud": "authenticated"},
    )


def percentile(values: list[float], fraction: float) -> float:
    """The value below which `fraction` of the sorted values fall."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * fraction))]


_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _processes() -> Iterator[tuple[int, int, str, float]]:
    """(pid, parent pid, command line, CPU seconds) of every process we may read (Linux)."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:  # gone meanwhile
            continue
        yield int(entry.name), int(fields[1]), command, (int(fields[11]) + int(fields[12])) / _TICKS


class CpuMeter:
    """CPU seconds spent by named process trees and by a database's Postgres backends.

    On a shared 2-core machine the rate of a run moves with whatever else runs; CPU per
    request does much less, and says which part would be the ceiling on an idle machine.
    """

    def __init__(self, roots: dict[str, int], database_url: str) -> None:
        self.roots = roots
        self.database = database_url.rsplit("/", 1)[1]
        self.start: dict[int, tuple[str, float]] = {}

    def _snapshot(self) -> dict[int, tuple[str, float]]:
        rows = list(_processes())
        parents = {pid: parent for pid, parent, _, _ in rows}
        owner = {pid: name for name, pid in self.roots.items()}
        found: dict[int, tuple[str, float]] = {}
        for pid, _, command, seconds in rows:
            name = None
            ancestor: int | None = pid
            while ancestor and name is None:
                name = owner.get(ancestor)
                ancestor = parents.get(ancestor)
            if name is None and command.startswith("postgres:") and f" {self.database} " in command:
                name = "postgres"
            if name is not None:
                found[pid] = (name, seconds)
        return found

    @staticmethod
    def _machine() -> tuple[float, float]:
        """(busy, all) CPU seconds of the whole machine since boot."""
        values = [int(value) for value in Path("/proc/stat").read_text().split()[1:9]]
        idle = values[3] + values[4]  # idle + iowait
        return (sum(values) - idle) / _TICKS, sum(values) / _TICKS

    def __enter__(self) -> CpuMeter:
        self.start = self._snapshot()
        self.machine_start = self._machine()
        self.wall = time.perf_counter()
        return self

    def __exit__(self, *_: object) -> None:
        self.wall = time.perf_counter() - self.wall
        self.spent: dict[str, float] = {}
        for pid, (name, seconds) in self._snapshot().items():
            before = self.start.get(pid, (name, 0.0))[1]
            self.spent[name] = self.spent.get(name, 0.0) + seconds - before
        busy = self._machine()[0]
        # Cores busy on the whole machine meanwhile: ours plus whatever else was running.
        self.machine_busy = (busy - self.machine_start[0]) / self.wall
        self.ours = sum(self.spent.values()) / self.wall

    def totals(self) -> str:
        """'import 60.1 s, postgres 80.3 s; total ...' for the whole run."""
        parts = [
            f"{name} {seconds:.1f} s"
            for name, seconds in sorted(self.spent.items(), key=lambda item: -item[1])
        ]
        return (
            f"{', '.join(parts)}; total {sum(self.spent.values()):.1f} s in {self.wall:.1f} s"
            f" (machine busy {self.machine_busy:.2f} of {os.cpu_count()} cores,"
            f" {self.ours:.2f} of them ours)"
        )

    def per_item(self, items: int) -> str:
        """'web 2.10 ms, postgres 1.30 ms, ...' per item, and the total."""
        parts = [
            f"{name} {seconds / items * 1000:.2f} ms"
            for name, seconds in sorted(self.spent.items(), key=lambda item: -item[1])
        ]
        total = sum(self.spent.values()) / items * 1000
        return (
            f"{', '.join(parts)}; total {total:.2f} ms"
            f" (machine busy {self.machine_busy:.2f} of {os.cpu_count()} cores,"
            f" {self.ours:.2f} of them ours)"
        )
