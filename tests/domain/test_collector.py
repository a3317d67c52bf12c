"""The garbage collector's pause: off inside, back as it was after, also when the work fails."""

from __future__ import annotations

import gc

import pytest

from commonspace.domain import collector


def test_the_collector_is_paused_inside_and_left_as_found() -> None:
    was = gc.isenabled()
    try:
        gc.enable()
        with collector.paused():
            assert not gc.isenabled()
        assert gc.isenabled()
        with pytest.raises(RuntimeError), collector.paused():
            raise RuntimeError("the work failed")
        assert gc.isenabled()
        gc.disable()  # paused already (by whoever calls): it stays so
        with collector.paused():
            assert not gc.isenabled()
        assert not gc.isenabled()
    finally:
        if was:
            gc.enable()
        else:
            gc.disable()
