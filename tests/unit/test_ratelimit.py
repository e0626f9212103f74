"""The token bucket: burst, steady rate, reservation order, unlimited, abort."""

from __future__ import annotations

import threading

import pytest

from runner.ratelimit import TokenBucket


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_burst_then_steady_rate() -> None:
    clock = FakeClock()
    bucket = TokenBucket(rate=10, burst=3, clock=clock)
    assert [bucket.reserve() for _ in range(3)] == [0.0, 0.0, 0.0]
    assert bucket.reserve() == pytest.approx(0.1)
    assert bucket.reserve() == pytest.approx(0.2)  # reservations queue up in order
    clock.now += 0.3  # three tokens: two pay off the reservations, one is free
    assert bucket.reserve() == 0.0
    assert bucket.reserve() == pytest.approx(0.1)


def test_refill_is_capped_at_burst() -> None:
    clock = FakeClock()
    bucket = TokenBucket(rate=1, burst=2, clock=clock)
    bucket.reserve()
    bucket.reserve()
    clock.now += 100
    assert [bucket.reserve() for _ in range(2)] == [0.0, 0.0]
    assert bucket.reserve() == pytest.approx(1.0)


def test_unlimited_never_waits() -> None:
    for rate in (None, 0, -1):
        bucket = TokenBucket(rate=rate, burst=None)
        assert bucket.unlimited and all(bucket.reserve() == 0 for _ in range(1000))


def test_take_gives_up_when_stopped() -> None:
    bucket = TokenBucket(rate=0.01, burst=1)
    assert bucket.take()
    stop = threading.Event()
    stop.set()
    assert bucket.take(stop) is False


def test_take_really_waits() -> None:
    import time

    bucket = TokenBucket(rate=50, burst=1)
    start = time.monotonic()
    for _ in range(6):
        bucket.take()
    assert 0.09 <= time.monotonic() - start < 1.0  # 5 waits of 20 ms
