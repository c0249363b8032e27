"""The GIL switch interval is short while any caller is inside `responsive_loop`, and given
back as it was when the last one leaves."""

from __future__ import annotations

import sys

import pytest

from zapcrm.kit.threads import RESPONSIVE_SWITCH_SECONDS, responsive_loop


def test_the_interval_is_short_inside_and_restored_after_the_last_user_leaves() -> None:
    before = sys.getswitchinterval()
    assert before != RESPONSIVE_SWITCH_SECONDS
    first = responsive_loop()
    second = responsive_loop()
    first.__enter__()
    assert sys.getswitchinterval() == pytest.approx(RESPONSIVE_SWITCH_SECONDS)
    second.__enter__()  # a second import starting in the same worker
    first.__exit__(None, None, None)  # the first one finishes: the second still parses
    assert sys.getswitchinterval() == pytest.approx(RESPONSIVE_SWITCH_SECONDS)
    second.__exit__(None, None, None)
    assert sys.getswitchinterval() == before


def test_an_error_inside_still_restores_the_interval() -> None:
    before = sys.getswitchinterval()
    with pytest.raises(RuntimeError), responsive_loop():
        raise RuntimeError("the import failed")
    assert sys.getswitchinterval() == before
