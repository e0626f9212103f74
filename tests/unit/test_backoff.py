"""Backoff with full jitter: the window doubles up to the cap; retry_after is honoured."""

from __future__ import annotations

import pytest

from runner.backoff import Backoff, full_jitter, retry_delay


def test_full_jitter_window_doubles_and_caps() -> None:
    top = lambda: 0.999999  # noqa: E731 - the top of the window
    assert [round(full_jitter(a, 1.0, 10.0, top), 3) for a in range(6)] == [
        1.0,
        2.0,
        4.0,
        8.0,
        10.0,
        10.0,
    ]
    assert full_jitter(3, 1.0, 10.0, lambda: 0.0) == 0.0
    assert full_jitter(10_000, 1.0, 10.0, lambda: 0.5) == 5.0  # no overflow


def test_retry_delay_never_sooner_than_retry_after() -> None:
    assert retry_delay(0, 1.0, 60.0, retry_after=30.0, rand=lambda: 0.5) == 30.0
    assert retry_delay(4, 1.0, 60.0, retry_after=3.0, rand=lambda: 0.5) == 8.0
    assert retry_delay(0, 1.0, 60.0, retry_after=None, rand=lambda: 0.5) == 0.5


def test_backoff_grows_and_resets() -> None:
    backoff = Backoff(initial=0.5, maximum=4.0, rand=lambda: 1.0)
    assert [backoff.next() for _ in range(5)] == [0.5, 1.0, 2.0, 4.0, 4.0]
    assert backoff.attempt == 5
    backoff.reset()
    assert backoff.next() == pytest.approx(0.5)


def test_jitter_spreads() -> None:
    import random

    rng = random.Random(7)
    draws = {round(full_jitter(3, 1.0, 60.0, rng.random), 2) for _ in range(50)}
    assert len(draws) > 40 and all(0 <= d < 8.0 for d in draws)
