"""Queue state between tests: the streams a test's live worker consumes start empty, so it runs
that test's jobs and none that earlier tests of the process left behind."""

from __future__ import annotations

from collections.abc import Iterable

from redis import Redis

from zapcrm.worker import dead_key, retry_key


def discard_jobs(redis: Redis, streams: Iterable[str]) -> None:
    """Delete what the streams hold: their entries, their consumer groups (with the entries
    workers took and never acknowledged), their scheduled retries and their dead letters."""
    # One DEL, so the streams go empty at once; a worker started afterwards creates its group
    # again from id 0 (as on a fresh Redis) and reads whatever was added since.
    keys = [key for stream in streams for key in (stream, retry_key(stream), dead_key(stream))]
    redis.delete(*keys)
