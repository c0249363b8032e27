"""`zapcrm up` (what `make run` starts): stopping it stops everything it started."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from zapcrm.config import Settings


def _children(pid: int) -> list[int]:
    found = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True)
    return [int(line) for line in found.stdout.split()]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_sigterm_stops_the_web_app_worker_and_simulator_too(settings: Settings) -> None:
    port, simulator_port = _free_port(), _free_port()
    env = {**os.environ, "DATABASE_URL": settings.database_url, "REDIS_URL": settings.redis_url}
    up = subprocess.Popen(
        [
            str(Path(sys.executable).with_name("zapcrm")), "up",
            "--port", str(port), "--simulator-port", str(simulator_port),
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    children: list[int] = []
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).is_success:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        else:
            raise AssertionError("the web app did not answer in 30 s")
        children = _children(up.pid)
        assert len(children) == 3
        up.send_signal(signal.SIGTERM)
        assert up.wait(timeout=30) == 0
        assert [pid for pid in children if _alive(pid)] == []
    finally:
        for pid in _children(up.pid) if up.poll() is None else children:
            if _alive(pid):
                os.kill(pid, signal.SIGKILL)
        up.kill()
