"""Dead letters: jobs that used up their attempts or failed permanently, and the tools to inspect,
replay or drop them.

A dead letter is an entry of `<stream>:dead` with the job's payload, the error's type and
(truncated) message, the number of runs made, when it failed, the last entry id and the
origin entry id. The dead stream is capped (approximately) so a flood cannot exhaust memory.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal, cast

import orjson
from redis.asyncio import Redis
from redis.typing import EncodableT, FieldT

from zapcrm.worker._job import PAYLOAD_FIELD, dead_key

DEAD_MAXLEN = 100_000
_ERROR_LIMIT = 1000
_PAGE = 500

_Entries = list[tuple[str, dict[str, str]]]

# Read, re-add with attempt 0 and delete in one script, so two operators replaying the same
# letters at once enqueue each job once.
_REPLAY_SCRIPT = """
local moved = 0
for i = 1, #ARGV do
  local found = redis.call('XRANGE', KEYS[1], ARGV[i], ARGV[i])
  if #found > 0 then
    local fields = found[1][2]
    for j = 1, #fields, 2 do
      if fields[j] == 'payload' then
        redis.call('XADD', KEYS[2], '*', 'payload', fields[j + 1], 'attempt', '0')
        redis.call('XDEL', KEYS[1], ARGV[i])
        moved = moved + 1
        break
      end
    end
  end
end
return moved
"""


@dataclass(frozen=True, slots=True)
class DeadLetter:
    """One dead-lettered job as stored in `<stream>:dead`."""

    dead_id: str
    stream: str
    raw_payload: str
    error_type: str
    error: str
    attempts: int
    failed_at: datetime | None
    entry_id: str
    origin_id: str

    @property
    def payload(self) -> Mapping[str, Any] | None:
        """The decoded payload, or None when it is not a JSON object."""
        try:
            document = orjson.loads(self.raw_payload)
        except orjson.JSONDecodeError:
            return None
        return document if isinstance(document, dict) else None


def dead_letter_fields(
    *, raw_payload: str, error: BaseException, attempts: int, entry_id: str, origin_id: str
) -> dict[FieldT, EncodableT]:
    """The fields of the dead-letter entry recording a failed job."""
    message = str(error) or repr(error)
    return {
        PAYLOAD_FIELD: raw_payload,
        "error_type": type(error).__name__,
        "error": message[:_ERROR_LIMIT],
        "attempts": str(attempts),
        "failed_at": datetime.now(UTC).isoformat(),
        "entry_id": entry_id,
        "origin_id": origin_id,
    }


def _parse(stream: str, dead_id: str, fields: Mapping[str, str]) -> DeadLetter:
    failed_at = fields.get("failed_at")
    try:
        attempts = int(fields.get("attempts", 0))
    except ValueError:
        attempts = 0
    return DeadLetter(
        dead_id=dead_id,
        stream=stream,
        raw_payload=fields.get(PAYLOAD_FIELD, ""),
        error_type=fields.get("error_type", ""),
        error=fields.get("error", ""),
        attempts=attempts,
        failed_at=datetime.fromisoformat(failed_at) if failed_at else None,
        entry_id=fields.get("entry_id", ""),
        origin_id=fields.get("origin_id", ""),
    )


async def dead_letters(
    redis: Redis, stream: str, count: int = 100, *, after: str | None = None
) -> list[DeadLetter]:
    """Up to `count` dead letters of a stream, oldest first, starting after the id `after`."""
    start = f"({after}" if after else "-"
    entries = cast(_Entries, await redis.xrange(dead_key(stream), min=start, max="+", count=count))
    return [_parse(stream, dead_id, fields) for dead_id, fields in entries]


async def _all_ids(redis: Redis, key: str) -> list[str]:
    ids: list[str] = []
    start = "-"
    while page := cast(_Entries, await redis.xrange(key, min=start, max="+", count=_PAGE)):
        ids.extend(entry_id for entry_id, _ in page)
        start = f"({page[-1][0]}"
    return ids


def _selected(entry_ids: Sequence[str] | Literal["all"]) -> list[str] | None:
    # A lone id string is a Sequence[str] too; refuse it rather than act on its characters.
    if isinstance(entry_ids, str):
        if entry_ids != "all":
            raise ValueError('pass a list of dead-letter ids or "all"')
        return None
    return list(entry_ids)


async def replay_dead(redis: Redis, stream: str, entry_ids: Sequence[str] | Literal["all"]) -> int:
    """Re-enqueue dead letters (by dead id, or all) with attempt 0, remove them, count them."""
    key = dead_key(stream)
    selected = _selected(entry_ids)
    ids = await _all_ids(redis, key) if selected is None else selected
    script = redis.register_script(_REPLAY_SCRIPT)
    moved = 0
    for start in range(0, len(ids), _PAGE):
        moved += int(await script(keys=[key, stream], args=ids[start : start + _PAGE]))
    return moved


async def drop_dead(redis: Redis, stream: str, entry_ids: Sequence[str] | Literal["all"]) -> int:
    """Delete dead letters (by dead id, or all) for good and count them."""
    key = dead_key(stream)
    selected = _selected(entry_ids)
    if selected is None:
        async with redis.pipeline(transaction=True) as pipe:
            pipe.xlen(key)
            pipe.delete(key)
            length, _ = await pipe.execute()
        return int(length)
    if not selected:
        return 0
    return int(await redis.xdel(key, *selected))
