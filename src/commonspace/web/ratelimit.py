"""A sliding-window limit on failed sign-ins, per e-mail address and per client address.

Kept in the server process's memory: one `commonspace serve` process is one limiter. Failures count;
a successful sign-in clears its e-mail's count. ``attempt`` checks and counts in one step, so that
concurrent guesses (each waiting on the slow password hash) cannot all pass the check before any of them
is counted. Only addresses with failures in the window are kept.
"""

from __future__ import annotations

import threading
import time
from collections import defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class SignInLimiter:
    per_email: int = 5
    per_client: int = 20
    window: float = 15 * 60.0
    clock: Callable[[], float] = time.monotonic
    _failures: dict[str, deque[float]] = field(default_factory=lambda: defaultdict(deque))
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _swept: float = float("-inf")

    def _keys(self, email: str, client: str) -> tuple[tuple[str, int], tuple[str, int]]:
        return (f"email:{email.strip().lower()}", self.per_email), (f"client:{client}", self.per_client)

    def _recent(self, key: str, now: float) -> deque[float]:
        times = self._failures.get(key) or deque()  # a look-up keeps nothing for an unknown address
        while times and times[0] <= now - self.window:
            times.popleft()
        return times

    def _sweep(self, now: float) -> None:
        """Forget the addresses whose failures all left the window (at most once a window)."""
        if now - self._swept < self.window:
            return
        self._swept = now
        for key in [k for k, times in self._failures.items() if not times or times[-1] <= now - self.window]:
            del self._failures[key]

    def _wait(self, email: str, client: str, now: float) -> int:
        wait = 0.0
        for key, limit in self._keys(email, client):
            times = self._recent(key, now)
            if len(times) >= limit:
                wait = max(wait, times[len(times) - limit] + self.window - now)
        return int(wait) + 1 if wait > 0 else 0

    def retry_after(self, email: str, client: str) -> int:
        """Seconds until another attempt is allowed; 0 when it is allowed now."""
        now = self.clock()
        with self._lock:
            self._sweep(now)
            return self._wait(email, client, now)

    def attempt(self, email: str, client: str) -> int:
        """``retry_after``, and when the attempt is allowed, count it as a failure at once (until
        ``succeeded`` says otherwise): the check and the count are one step."""
        now = self.clock()
        with self._lock:
            self._sweep(now)
            wait = self._wait(email, client, now)
            if not wait:
                for key, _limit in self._keys(email, client):
                    self._failures[key].append(now)
            return wait

    def failed(self, email: str, client: str) -> None:
        now = self.clock()
        with self._lock:
            self._sweep(now)
            for key, _limit in self._keys(email, client):
                self._recent(key, now)
                self._failures[key].append(now)

    def succeeded(self, email: str, client: str | None = None) -> None:
        """Clear the e-mail's count; with ``client``, also take back the failure ``attempt`` counted."""
        with self._lock:
            self._failures.pop(f"email:{email.strip().lower()}", None)
            times = self._failures.get(f"client:{client}") if client is not None else None
            if times:
                times.pop()
