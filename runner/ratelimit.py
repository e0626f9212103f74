"""A per-trigger token bucket, so a burst of events cannot flood an action's target.

Every action run takes one token. Waiting happens in the worker that wants the
token, never in the source thread, so a rate limit slows actions but never the
watch. Tokens are reserved (the balance may go negative), which keeps waiting
workers in arrival order without a second queue.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable


class TokenBucket:
    """``rate`` tokens per second, at most ``burst`` saved up; ``rate <= 0`` means unlimited."""

    def __init__(
        self,
        rate: float | None,
        burst: int | None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.rate = float(rate or 0.0)
        self.burst = float(max(1, burst or 1)) if self.rate > 0 else 0.0
        self._clock = clock
        self._tokens = self.burst
        self._stamp = clock()
        self._lock = threading.Lock()

    @property
    def unlimited(self) -> bool:
        """True when no rate limit applies."""
        return self.rate <= 0

    def reserve(self) -> float:
        """Take one token now; returns how many seconds to wait before using it."""
        if self.unlimited:
            return 0.0
        with self._lock:
            now = self._clock()
            self._tokens = min(self.burst, self._tokens + (now - self._stamp) * self.rate)
            self._stamp = now
            self._tokens -= 1.0
            if self._tokens >= 0:
                return 0.0
            return -self._tokens / self.rate

    def take(self, stop: threading.Event | None = None) -> bool:
        """Block until a token is ours; False if ``stop`` was set while waiting."""
        wait = self.reserve()
        if wait <= 0:
            return True
        if stop is None:
            time.sleep(wait)
            return True
        return not stop.wait(wait)
