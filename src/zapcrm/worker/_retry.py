"""Retry scheduling: exponential backoff with jitter, and moving due retries back onto the stream.

A scheduled retry is a member of the sorted set `<stream>:retry`, scored by its due unix time.
The member is the JSON list of the stream entry's field/value pairs, so moving it back is a
plain XADD of those pairs, and two workers failing the same run schedule one retry, not two.
"""

from __future__ import annotations

import random
import time

import orjson
from redis.asyncio import Redis

from zapcrm.worker._job import ATTEMPT_FIELD, ORIGIN_FIELD, PAYLOAD_FIELD, dead_key, retry_key

# Due members move back in one script, so ZRANGEBYSCORE + XADD + ZREM is atomic and workers
# racing on the same set never move a retry twice. A member that is not a field list (written
# by hand) goes to the dead letters instead of blocking the set forever.
_PROMOTE_SCRIPT = """
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[2]))
for _, member in ipairs(due) do
  local ok, fields = pcall(cjson.decode, member)
  if ok and type(fields) == 'table' and #fields >= 2 and #fields % 2 == 0 then
    redis.call('XADD', KEYS[2], '*', unpack(fields))
  else
    redis.call('XADD', KEYS[3], '*', 'payload', member, 'error_type', 'MalformedRetry',
      'error', 'retry member is not a JSON list of entry fields', 'attempts', '0')
  end
  redis.call('ZREM', KEYS[1], member)
end
return #due
"""

# 2**62 seconds is already far beyond any max_delay; the cap avoids float overflow.
_MAX_EXPONENT = 62


def backoff_delay(
    attempt: int, *, base_delay: float, max_delay: float, jitter: float = 0.2
) -> float:
    """Seconds before the next run after run `attempt` failed: base*2^attempt, ±jitter, capped."""
    exponential = base_delay * 2.0 ** min(max(attempt, 0), _MAX_EXPONENT)
    spread = random.uniform(1 - jitter, 1 + jitter)  # noqa: S311 - jitter, not security
    return min(max_delay, exponential * spread)


def retry_member(raw_payload: str, attempt: int, origin_id: str) -> str:
    """The sorted-set member that re-creates a job's entry when its retry is due."""
    fields = [PAYLOAD_FIELD, raw_payload, ATTEMPT_FIELD, str(attempt), ORIGIN_FIELD, origin_id]
    return orjson.dumps(fields).decode()


class RetryPromoter:
    """Moves a stream's due retries back onto the stream."""

    def __init__(self, redis: Redis, stream: str) -> None:
        self._keys = [retry_key(stream), stream, dead_key(stream)]
        self._script = redis.register_script(_PROMOTE_SCRIPT)

    async def promote(self, *, limit: int = 500, now: float | None = None) -> int:
        """Move up to `limit` retries due by `now` (default: the current time) and count them."""
        due = time.time() if now is None else now
        moved = await self._script(keys=self._keys, args=[repr(due), limit])
        return int(moved)
