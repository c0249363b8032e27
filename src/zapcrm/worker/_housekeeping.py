"""Stream upkeep that needs no state: the group, trimming acknowledged entries, old consumers."""

from __future__ import annotations

from redis.asyncio import Redis
from redis.exceptions import ResponseError

from zapcrm.logging import get_logger

log = get_logger("zapcrm.worker")


def _id_key(entry_id: str) -> tuple[int, int]:
    milliseconds, _, sequence = entry_id.partition("-")
    return int(milliseconds), int(sequence or 0)


def is_nogroup(error: BaseException) -> bool:
    """Whether Redis said the stream or its group does not exist (deleted under us)."""
    return isinstance(error, ResponseError) and str(error).startswith("NOGROUP")


async def ensure_group(redis: Redis, stream: str, group: str) -> None:
    """Create the consumer group (and the stream) unless it exists."""
    try:
        # From id 0: jobs enqueued before the first worker started are not skipped.
        await redis.xgroup_create(stream, group, id="0", mkstream=True)
    except ResponseError as error:
        if not str(error).startswith("BUSYGROUP"):
            raise


async def trim_acknowledged(redis: Redis, stream: str) -> None:
    """Delete the entries every group of the stream has read and acknowledged."""
    # Acknowledged entries stay in a stream until trimmed. The floor is the lowest of every
    # group's last-delivered id and oldest pending id; positions are read before pending
    # lists, because an entry delivered in between has an id above the position read.
    # Trimming only the head keeps XINFO's lag (the backlog) computable.
    groups = await redis.xinfo_groups(stream)
    if not groups:
        return
    async with redis.pipeline(transaction=False) as pipe:
        for info in groups:
            pipe.xpending(stream, info["name"])
        summaries = await pipe.execute()
    floors = [info["last-delivered-id"] for info in groups]
    floors += [summary["min"] for summary in summaries if summary.get("min")]
    floor = min(floors, key=_id_key)
    if floor != "0-0":
        await redis.xtrim(stream, minid=floor, approximate=False)


async def prune_stale_consumers(redis: Redis, stream: str, group: str, stale_ms: int) -> None:
    """Delete consumers unseen for `stale_ms` that hold no pending entry (dead workers)."""
    # Every worker start adds a consumer name and a killed one leaves it behind. A live
    # consumer reads every block_ms, so one unseen that long with nothing pending is gone.
    for info in await redis.xinfo_consumers(stream, group):
        if int(info["pending"]) == 0 and int(info["idle"]) > stale_ms:
            await redis.xgroup_delconsumer(stream, group, info["name"])
            log.info("queue.consumer_pruned", stream=stream, consumer=info["name"])


async def forget_consumer_if_idle(redis: Redis, stream: str, group: str, consumer: str) -> None:
    """Remove a consumer from the group when it holds no pending entry."""
    summary = await redis.xpending(stream, group)
    ours = [each for each in summary.get("consumers", []) if each["name"] == consumer]
    # DELCONSUMER drops the consumer's pending entries: never while it has some.
    if not ours or int(ours[0]["pending"]) == 0:
        await redis.xgroup_delconsumer(stream, group, consumer)
