"""Peak resident memory per phase, from ``resource.getrusage``.

``ru_maxrss`` is the process's high-water mark. On Linux it can be reset (``/proc/self/clear_refs``,
value 5), which makes it a per-phase peak; elsewhere the figure is the peak since the process started,
and the results say so (``memory_per_phase: false``). A phase's peak includes what the process
already held when it began (Python keeps freed memory; ``rss_at_start_mb`` tells how much) and, on
SQLite, the database pages it maps into memory (``mmap_size``). Only this process is counted, not the
PostgreSQL server.
"""

from __future__ import annotations

import resource
import sys
from pathlib import Path

_CLEAR_REFS = Path("/proc/self/clear_refs")
_STATM = Path("/proc/self/statm")
_STATUS = Path("/proc/self/status")


def reset_peak() -> bool:
    """Start a new phase; True when the high-water mark could be reset."""
    try:
        _CLEAR_REFS.write_text("5")
    except OSError:
        return False
    return True


def peak_mb() -> float:
    """The peak resident set size (of the phase, after reset_peak), in MiB."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return round(peak / (1024 * 1024 if sys.platform == "darwin" else 1024), 1)


def current_mb() -> float | None:
    """The resident set size now, in MiB (Linux only)."""
    try:
        resident = int(_STATM.read_text().split()[1])
    except (OSError, IndexError, ValueError):
        return None
    return round(resident * resource.getpagesize() / (1024 * 1024), 1)


def own_peak_mb() -> float:
    """The peak resident set size of this process's own memory (Linux: ``VmHWM``, reset by reset_peak),
    in MiB. In a child process ``ru_maxrss`` may start at its parent's peak (Linux carries the parent's
    high-water mark over a vfork and exec, as ``subprocess`` does), which ``VmHWM`` does not; elsewhere
    it is ``peak_mb``."""
    try:
        for line in _STATUS.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024, 1)
    except (OSError, IndexError, ValueError):
        pass
    return peak_mb()
