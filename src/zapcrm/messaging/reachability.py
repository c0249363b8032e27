"""Evolution servers (or instances) that stop answering: the send worker stops calling them for
a while.

A server that hangs (accepts the connection, never answers) or cannot be reached holds each
call for the client's whole timeout, and the send worker has a handful of handlers for every
instance of every company (worker/main.py). Without this, a dead server with as many instances
as there are handlers took them all on every retry wave, and healthy instances' sends waited
behind calls that could only time out. So, in Redis (shared by every worker process):

- a call that gets no answer (`GatewayUnreachable`) marks the target unreachable for a wait
  that doubles with each such failure in a row (FIRST_WAIT up to LONGEST_WAIT). The target is
  the server when it could not be reached at all (connection refused or timed out, no such
  host), and the instance when the server took the call and never answered: one instance
  stuck inside Evolution must not stop its server's healthy ones;
- while it is marked, its jobs are retried after the rest of the wait without a call (the
  caller raises RetryJobLater);
- when the wait is over, one call goes out as a probe (a `SET NX` key for the client's
  timeout); the others keep waiting. Any answer (even an error status) clears the mark, no
  answer renews it for longer.

Only transport failures count: a 5xx or a 429 comes back at once and holds nobody, and a wait
for a connection of our own pool is our load, not the server's. This is the usual circuit
breaker, written here by hand: purgatory (async, state in Redis) keeps a circuit open for a
fixed time behind a context manager that raises, on a Redis connection of its own; a job needs
the wait that is left (its RetryJobLater), a wait that grows while the server stays dead, two
circuits (server, instance) per call, and our runtime's Redis client.
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


def mark_key(server_url: str, instance: str | None = None) -> str:
    """The Redis hash of a server's (or, with `instance`, one of its instances') failures in a
    row (`failures`) and wait end (`until_ms`). Keyed by a digest: a URL may be long and carry
    any character."""
    name = server_url.rstrip("/") if instance is None else f"{server_url.rstrip('/')}\n{instance}"
    return f"evolution:unreachable:{hashlib.sha256(name.encode()).hexdigest()[:24]}"


@dataclass(frozen=True, slots=True)
class Passage:
    """May a call go out now? `wait` > 0: not before that many seconds.

    `probe`: the mark whose probe this caller holds (the call that finds out whether the
    server, or the instance, answers again); it is released when the job ends.
    """

    wait: float
    probe: str | None
    # The value of the caller's own key read in the same round trip (`passage(read=...)`).
    read: str | None = None


_OPEN = Passage(wait=0.0, probe=None)


class ServerReachability:
    """The marks of unreachable Evolution servers and instances, shared by every worker through
    Redis.

    It is the `CallWatch` of the send worker's gateway clients: every call's outcome reaches
    it. Clearing costs nothing while nothing is marked: only a mark this process saw is
    cleared in Redis when the call answers.
    """

    def __init__(self, redis: Redis) -> None:
        self.redis = redis
        self._seen_marked: set[str] = set()

    async def passage(self, server_url: str, instance: str, *, read: str | None = None) -> Passage:
        """Whether a call for `instance` on `server_url` may go out now (one round trip of two
        HGETs when nothing is marked); `read`, a key of the caller's fetched in that same round
        trip (the send worker's number check), comes back as `Passage.read`."""
        keys = (mark_key(server_url), mark_key(server_url, instance))
        async with self.redis.pipeline(transaction=False) as pipe:
            for key in keys:
                pipe.hget(key, "until_ms")
            if read is not None:
                pipe.get(read)
            answers = await pipe.execute()
        value = answers[2] if read is not None else None
        marked = [(key, int(until)) for key, until in zip(keys, answers[:2], strict=True) if until]
        self._seen_marked.difference_update(keys)
        if not marked:
            return _OPEN if value is None else Passage(wait=0.0, probe=None, read=value)
        self._seen_marked.update(key for key, _ in marked)
        left = max(until for _, until in marked) / 1000 - time.time()
        if left > 0:
            return Passage(wait=left, probe=None)
        key = marked[0][0]  # the server's mark before its instance's: it is the wider one
        probing = await self.redis.set(f"{key}:probe", "1", nx=True, px=PROBE_LEASE_MS)
        if probing:
            return Passage(wait=0.0, probe=key, read=value)
        return Passage(PROBE_WAIT, probe=None)

    async def unanswered(self, server_url: str, instance: str | None) -> None:
        """A call got no answer: mark the server (`instance` None: it could not be reached at
        all) or the instance (the server took the call and never answered it) for the next,
        longer wait."""
        key = mark_key(server_url, instance)
        failures = int(await self.redis.hincrby(key, "failures", 1))
        wait = min(FIRST_WAIT * 2.0 ** (failures - 1), LONGEST_WAIT)
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hset(key, "until_ms", int((time.time() + wait) * 1000))
            pipe.expire(key, MEMORY_SECONDS)
            pipe.delete(f"{key}:probe")
            await pipe.execute()
        self._seen_marked.add(key)
        log.warning(
            "gateway.unreachable",
            whole_server=instance is None,
            failures=failures,
            wait_seconds=wait,
        )

    async def answered(self, server_url: str, instance: str) -> None:
        """A call got an answer (whatever it said): the server and the instance are reachable."""
        seen = {mark_key(server_url), mark_key(server_url, instance)} & self._seen_marked
        if seen:
            self._seen_marked -= seen
            await self.redis.delete(*seen, *(f"{key}:probe" for key in seen))

    async def release(self, probe: str) -> None:
        """The probe's job ended without learning anything (it made no call): the next caller
        may probe at once instead of after the probe's lease."""
        await self.redis.delete(f"{probe}:probe")
