"""A worker process for the crash and signal tests: marks jobs started, sleeps, marks them done.

    python tests/worker/crash_worker.py <redis_url> <stream> <consumer> <sleep_seconds>

The parent test SIGKILLs it mid-batch (crash recovery) or SIGTERMs it (graceful shutdown).
"""

from __future__ import annotations

import asyncio
import sys

from zapcrm.config import load_settings
from zapcrm.redis import create_redis
from zapcrm.worker import Job, WorkerRuntime, install_signal_handlers


async def main(redis_url: str, stream: str, consumer: str, sleep_seconds: float) -> None:
    """Consume `stream` until SIGTERM (or death)."""
    redis = create_redis(load_settings(redis_url=redis_url))

    async def handle(job: Job) -> None:
        await redis.sadd(f"{stream}:started", job.payload["n"])
        await asyncio.sleep(sleep_seconds)
        await redis.sadd(f"{stream}:done", job.payload["n"])

    runtime = WorkerRuntime(redis, consumer_name=consumer, heartbeat_ttl=1.0)
    runtime.register(stream, handler=handle, concurrency=5, batch_size=10, block_ms=50)
    stop = asyncio.Event()
    install_signal_handlers(stop)
    try:
        await runtime.run(stop)
    finally:
        await redis.aclose()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4])))
