"""A sliding-window limit on failed sign-ins, per e-mail address and per client address.

Kept in the server process's memory: one `commonspace serve` process is one limiter. Failures count;
a successful sign-in clears its e-mail's count.
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

    def _keys(self, email: str, client: str) -> tuple[tuple[str, int], tuple[str, int]]:
        return (f"email:{email.strip().lower()}", self.per_email), (f"client:{client}", self.per_client)

    def _recent(self, key: str, now: float) -> deque[float]:
        times = self._failures[key]
        while times and times[0] <= now - self.window:
            times.popleft()
        return times

    def retry_after(self, email: str, client: str) -> int:
        """Seconds until another attempt is allowed; 0 when it is allowed now."""
        now = self.clock()
        wait = 0.0
        with self._lock:
            for key, limit in self._keys(email, client):
                times = self._recent(key, now)
                if len(times) >= limit:
                    wait = max(wait, times[len(times) - limit] + self.window - now)
        return int(wait) + 1 if wait > 0 else 0

    def failed(self, email: str, client: str) -> None:
        now = self.clock()
        with self._lock:
            for key, _limit in self._keys(email, client):
                self._recent(key, now).append(now)

    def succeeded(self, email: str) -> None:
        with self._lock:
            self._failures.pop(f"email:{email.strip().lower()}", None)
