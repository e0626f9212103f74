"""Exponential backoff with full jitter, shared by watch reconnects and action retries.

Full jitter (a uniform draw between zero and the exponential cap) spreads the
retries of many runners, so a recovering API server or webhook receiver is not
hit by all of them in lock-step.
"""

from __future__ import annotations

import random
from collections.abc import Callable

#: 2**62 already exceeds any sane cap; bounding the exponent avoids huge ints.
_MAX_EXPONENT = 62


def full_jitter(
    attempt: int,
    initial: float,
    maximum: float,
    rand: Callable[[], float] = random.random,
) -> float:
    """A delay drawn uniformly from ``[0, min(maximum, initial * 2**attempt))``.

    Args:
        attempt: retries made so far (0 for the first retry).
        initial: the cap for the first retry, in seconds.
        maximum: the largest cap, in seconds.
        rand: a source of floats in ``[0, 1)`` (injected by tests).
    """
    cap = min(maximum, initial * float(2 ** min(max(attempt, 0), _MAX_EXPONENT)))
    return float(cap * rand())


def retry_delay(
    attempt: int,
    initial: float,
    maximum: float,
    retry_after: float | None = None,
    rand: Callable[[], float] = random.random,
) -> float:
    """The delay before retry ``attempt``: full jitter, but never sooner than ``retry_after``."""
    delay = full_jitter(attempt, initial, maximum, rand)
    if retry_after is not None and retry_after > delay:
        return retry_after
    return delay


class Backoff:
    """Stateful backoff for a loop that reconnects: ``next()`` grows, ``reset()`` after success."""

    __slots__ = ("_attempt", "_initial", "_maximum", "_rand")

    def __init__(
        self,
        initial: float = 0.5,
        maximum: float = 30.0,
        rand: Callable[[], float] = random.random,
    ) -> None:
        self._initial = initial
        self._maximum = maximum
        self._rand = rand
        self._attempt = 0

    @property
    def attempt(self) -> int:
        """Failures since the last reset."""
        return self._attempt

    def next(self) -> float:
        """The delay before the next try; each call widens the window."""
        delay = full_jitter(self._attempt, self._initial, self._maximum, self._rand)
        self._attempt += 1
        return delay

    def reset(self) -> None:
        """Start over after a success."""
        self._attempt = 0
