"""`zapcrm worker` in a process of its own, for tests that kill it or stop it with a signal."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

from zapcrm.config import Settings


async def start_worker(
    settings: Settings, redis_url: str, *, metrics_port: int = 0
) -> asyncio.subprocess.Process:
    """A worker on the test database and `redis_url` that reclaims a dead consumer's entries
    after one second idle, not the default minute a test would have to wait out."""
    env = {
        **os.environ,
        "DATABASE_URL": settings.database_url,
        "REDIS_URL": redis_url,
        "WORKER_CLAIM_IDLE_MS": "1000",
        "WORKER_METRICS_PORT": str(metrics_port),
        "LOG_LEVEL": "warning",
    }
    zapcrm = str(Path(sys.executable).with_name("zapcrm"))
    return await asyncio.create_subprocess_exec(zapcrm, "worker", env=env)
