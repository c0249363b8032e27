"""Evolution servers that stop answering: the send worker stops calling them for a while.

A server that hangs (accepts the connection, never answers) or cannot be reached holds each
call for the client's whole timeout, and the send worker has a handful of handlers for every
instance of every company (worker/main.py). Without this, a dead server with as many instances
as there are handlers took them all on every retry wave, and healthy instances' sends waited
behind calls that could only time out. So, per server URL, in Redis (shared by every worker
process):

- a call that gets no answer (`GatewayUnreachable`) marks the server unreachable for a wait
  that doubles with each such failure in a row (FIRST_WAIT up to LONGEST_WAIT);
- while it is marked, jobs for its instances are retried after the rest of the wait without a
  call (the caller raises RetryJobLater);
- when the wait is over, one call goes out as a probe (a `SET NX` key for the client's
  timeout); the others keep waiting. Any answer (even an error status) clears the mark, no
  answer renews it for longer.

Only transport failures count: a 5xx or a 429 comes back at once and holds nobody. This is the
usual circuit breaker, written here by hand: purgatory (async, state in Redis) keeps a circuit
open for a fixed time behind a context manager that raises, on a Redis connection of its own;
a job needs the wait that is left (its RetryJobLater), a wait that grows while the server stays
dead, and our runtime's Redis client.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass

from redis.asyncio import Redis

from zapcrm.logging import get_logger

log = get_logger(__name__)

FIRST_WAIT = 5.0
LONGEST_WAIT = 120.0
# Failures in a row are forgotten after this long without another (the key's TTL).
MEMORY_SECONDS = 900
# While a probe is out: how long the others wait before asking again. The probe key lives as
# long as the slowest call (a media send's 120 s), so a probe whose worker died frees it then.
PROBE_WAIT = 10.0
PROBE_LEASE_MS = 125_000


def mark_key(server_url: str) -> str:
    """The Redis hash of a server's failures in a row (`failures`) and wait end (`until_ms`).

    Keyed by a digest: a URL may be long and carry any character."""
    digest = hashlib.sha256(server_url.rstrip("/").encode()).hexdigest()[:24]
    return f"evolution:unreachable:{digest}"


def _probe_key(server_url: str) -> str:
    return f"{mark_key(server_url)}:probe"


@dataclass(frozen=True, slots=True)
class Passage:
    """May a call to the server go out now? `wait` > 0: not before that many seconds.

    `probe`: the server is marked unreachable and this caller's call is the one that may find
    out whether it answers again.
    """

    wait: float
    probe: bool


_OPEN = Passage(wait=0.0, probe=False)


class ServerReachability:
    """The marks of unreachable Evolution servers, shared by every worker through Redis.

    It is the `CallWatch` of the send worker's gateway clients: every call's outcome reaches
    it. Clearing costs nothing while no server is marked: only a server this process saw
    marked is cleared in Redis when it answers.
    """

    def __init__(self, redis: Redis) -> None:
        self.redis = redis
        self._seen_marked: set[str] = set()

    async def passage(self, server_url: str) -> Passage:
        """Whether a call to `server_url` may go out now (one HGET when the server is fine).

        A caller told `probe` must `release` it once its job is done, called or not."""
        key = mark_key(server_url)
        until = await self.redis.hget(key, "until_ms")
        if until is None:
            self._seen_marked.discard(key)
            return _OPEN
        self._seen_marked.add(key)
        left = int(until) / 1000 - time.time()
        if left > 0:
            return Passage(wait=left, probe=False)
        probing = await self.redis.set(_probe_key(server_url), "1", nx=True, px=PROBE_LEASE_MS)
        return Passage(wait=0.0, probe=True) if probing else Passage(PROBE_WAIT, probe=False)

    async def unanswered(self, server_url: str) -> None:
        """A call got no answer: mark the server for the next, longer wait."""
        key = mark_key(server_url)
        failures = int(await self.redis.hincrby(key, "failures", 1))
        wait = min(FIRST_WAIT * 2.0 ** (failures - 1), LONGEST_WAIT)
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hset(key, "until_ms", int((time.time() + wait) * 1000))
            pipe.expire(key, MEMORY_SECONDS)
            pipe.delete(_probe_key(server_url))
            await pipe.execute()
        self._seen_marked.add(key)
        log.warning("gateway.server_unreachable", failures=failures, wait_seconds=wait)

    async def answered(self, server_url: str) -> None:
        """A call got an answer (whatever it said): calls to the server go out again."""
        key = mark_key(server_url)
        if key in self._seen_marked:
            self._seen_marked.discard(key)
            await self.redis.delete(key, _probe_key(server_url))

    async def release(self, server_url: str) -> None:
        """The probe's job ended without learning anything (it made no call): the next caller
        may probe at once instead of after the probe's lease."""
        await self.redis.delete(_probe_key(server_url))
