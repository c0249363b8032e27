"""A CPU-bound thread beside the event loop, without the loop waiting on it for the GIL."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator

__all__ = ["RESPONSIVE_SWITCH_SECONDS", "responsive_loop"]

# CPython hands the GIL from a thread that keeps computing to one that waits every 5 ms by
# default. A contact import parses its next chunk in a thread while its lanes run statements
# from the event loop: after each statement the loop waited for the GIL, up to 5 ms, before
# sending the next one. With 0.2 ms, 1.75-1.79 of the machine's 2 cores were busy instead of
# 1.65-1.70, for the same CPU (bench/import.py, bench/RESULTS.md).
RESPONSIVE_SWITCH_SECONDS = 0.0002


class _Holders:
    """How many callers are inside `responsive_loop`, and the interval to give back."""

    count = 0
    saved = 0.0


@contextlib.contextmanager
def responsive_loop() -> Iterator[None]:
    """Shorten the GIL switch interval (process-wide) while the body runs; nested or
    concurrent users (two imports in one worker) keep it short until the last one leaves."""
    if _Holders.count == 0:
        _Holders.saved = sys.getswitchinterval()
        sys.setswitchinterval(RESPONSIVE_SWITCH_SECONDS)
    _Holders.count += 1
    try:
        yield
    finally:
        _Holders.count -= 1
        if _Holders.count == 0:
            sys.setswitchinterval(_Holders.saved)
