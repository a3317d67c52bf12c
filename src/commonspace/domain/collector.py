"""Pausing Python's cyclic garbage collector around work that builds a great many small objects.

Parsing a large STIX bundle and correlating a large report each build hundreds of thousands of small
objects that all live until the work ends and hold no cycle to free: the collector's passes over them find
nothing and took a sixth to a half of the time, each full pass longer as they grew. Shared here because
the pure layers (formats) may import only the domain core.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def paused() -> Iterator[None]:
    """The collector off inside the block, and back on after it if it was on before (so nested and
    concurrent pauses leave it as they found it)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
