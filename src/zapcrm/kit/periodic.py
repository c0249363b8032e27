"""The worker's schedules (outbox relay, alert watch, credential sync, media sweep, campaign
dispatcher, snooze alarm clock): one loop that runs a step every few seconds until told to
stop, and outlives a failing step.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable

from zapcrm.logging import get_logger

log = get_logger(__name__)


async def sleep_unless_stopped(stop: asyncio.Event, seconds: float) -> None:
    """Wait `seconds`, or less when `stop` is set meanwhile."""
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), timeout=seconds)


async def every(
    interval: float,
    stop: asyncio.Event,
    step: Callable[[], Awaitable[object]],
    *,
    failure: str,
    again: Callable[[object], bool] | None = None,
) -> None:
    """Run `step` every `interval` seconds until `stop` is set. A step that raises is logged as
    `failure` (its error type only) and the loop goes on: a schedule must outlive Redis and
    Postgres blips. When `again(result)` holds (a full batch: more is waiting), the next step
    runs at once."""
    while not stop.is_set():
        result: object = None
        try:
            result = await step()
        except Exception as error:  # noqa: BLE001 - see the docstring
            log.warning(failure, error_type=type(error).__name__)
        if again is not None and again(result):
            continue
        await sleep_unless_stopped(stop, interval)
