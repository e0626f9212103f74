"""Delivery: filters, ordered actions, retries with exact counts, permanent failures, rate limit.

Driven synchronously: items are taken from a real KeyedQueue (with a fake
clock for retry delays) and handed to ``Delivery.process``.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest

from runner.actions.base import (
    ActionContext,
    ActionKind,
    PermanentActionError,
    RetryableActionError,
)
from runner.checkpoint import Progress
from runner.delivery import DONE, FAILED, FILTERED, RETRY, Delivery, RetryPolicy
from runner.event import Event
from runner.metrics import (
    ACTION_RETRIES,
    ACTIONS_FAILED,
    ACTIONS_SUCCEEDED,
    EVENTS_MATCHED,
    FILTER_ERRORS,
    Metrics,
)
from runner.queue import KeyedQueue
from runner.ratelimit import TokenBucket


@dataclass(frozen=True)
class Entry:
    name: str
    kind: str
    config: Any
    field: str = "spec.actions[0]"


@dataclass
class Recorder:
    """Fake status and Event sink."""

    fired_count: int = 0
    errors: list[tuple[str, str, str]] = field(default_factory=list)
    events: list[tuple[str, str, str]] = field(default_factory=list)

    def fired(self) -> None:
        self.fired_count += 1

    def error(self, action: str, key: str, message: str) -> None:
        self.errors.append((action, key, message))

    def record(self, type_: str, reason: str, message: str) -> None:
        self.events.append((type_, reason, message))


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@dataclass
class Harness:
    delivery: Delivery
    queue: KeyedQueue
    progress: Progress
    metrics: Metrics
    sink: Recorder
    clock: FakeClock
    runs: Counter[tuple[str, str, str]]  # (action, key, rv) -> runs

    def put(self, type_: str, key: str, rv: str, obj: dict[str, Any] | None = None) -> None:
        self.progress.started(key, rv, type_)
        result = self.queue.put(Event(type_, key, obj or {"metadata": {"name": key}}, rv))
        if result.value != "queued":
            self.progress.finished(key)

    def drain(self, advance: float = 0.0) -> list[str]:
        """Process until nothing is due; ``advance`` moves the clock between rounds."""
        outcomes = []
        for _ in range(1000):
            item = self.queue.get(timeout=0)
            if item is None:
                if advance and len(self.queue):
                    self.clock.now += advance
                    continue
                return outcomes
            outcomes.append(self.delivery.process(item))
        raise AssertionError("did not settle")


def make(
    actions: dict[str, Callable[[Any, Event], str]],
    *,
    filters: Callable[[Any], Any] | None = None,
    attempts: int = 3,
    limiter: TokenBucket | None = None,
    rand: Callable[[], float] = lambda: 0.5,
) -> Harness:
    runs: Counter[tuple[str, str, str]] = Counter()

    def kind(name: str, fn: Callable[[Any, Event], str]) -> ActionKind:
        def run(config: Any, event: Event, ctx: ActionContext) -> str:
            runs[(name, event.key, event.resource_version)] += 1
            return fn(config, event)

        return ActionKind(name, lambda raw, path, ctx: raw, lambda cfg, ctx: [], run)

    registry = {name: kind(name, fn) for name, fn in actions.items()}
    clock = FakeClock()
    queue = KeyedQueue(clock=clock)
    progress = Progress()
    metrics = Metrics()
    sink = Recorder()
    delivery = Delivery(
        queue=queue,
        progress=progress,
        metrics=metrics,
        actions=[Entry(name, name, {}) for name in actions],
        registry=registry,
        context=ActionContext(
            client=None,  # type: ignore[arg-type]
            read_secret=lambda name, key: "",
            trigger_name="t",
            trigger_namespace="ns",
            log=logging.getLogger("test"),
        ),
        filters=filters,
        limiter=limiter or TokenBucket(None, None),
        retry=RetryPolicy(attempts=attempts, initial=1.0, maximum=8.0),
        status=sink,
        events=sink,
        rand=rand,
    )
    return Harness(delivery, queue, progress, metrics, sink, clock, runs)


def ok(config: Any, event: Event) -> str:
    return "ok"


def flaky(failures: int, retry_after: float | None = None) -> Callable[[Any, Event], str]:
    left = {"n": failures}

    def run(config: Any, event: Event) -> str:
        if left["n"] > 0:
            left["n"] -= 1
            raise RetryableActionError("receiver down", retry_after=retry_after)
        return "ok"

    return run


def test_burst_coalesces_to_one_run_per_key() -> None:
    h = make({"log": ok})
    for rv in ("1", "2", "3"):
        h.put("update", "ns/a", rv)
    h.put("update", "ns/b", "4")
    assert h.drain() == [DONE, DONE]
    assert h.runs == Counter({("log", "ns/a", "3"): 1, ("log", "ns/b", "4"): 1})
    assert h.metrics.get(ACTIONS_SUCCEEDED) == 2 and len(h.progress) == 0
    assert [e[:2] for e in h.sink.events] == [("Normal", "Fired")] * 2


def test_retryable_failure_resumes_at_the_failed_action_with_exact_counts() -> None:
    h = make({"first": ok, "second": flaky(2), "third": ok}, attempts=5)
    h.put("update", "ns/a", "7")
    assert h.drain(advance=10.0) == [RETRY, RETRY, DONE]
    assert h.runs == Counter(
        {("first", "ns/a", "7"): 1, ("second", "ns/a", "7"): 3, ("third", "ns/a", "7"): 1}
    )
    assert h.metrics.get(ACTION_RETRIES) == 2
    assert h.metrics.get(ACTIONS_SUCCEEDED) == 3 and h.metrics.get(ACTIONS_FAILED) == 0
    assert h.metrics.get(EVENTS_MATCHED) == 1 and h.sink.fired_count == 1
    assert len(h.progress) == 0


def test_exhausted_retries_fail_once_and_stop_the_chain() -> None:
    h = make({"hook": flaky(100), "after": ok}, attempts=3)
    h.put("update", "ns/a", "7")
    assert h.drain(advance=10.0) == [RETRY, RETRY, FAILED]
    assert h.runs == Counter({("hook", "ns/a", "7"): 3})
    assert h.metrics.get(ACTIONS_FAILED) == 1 and h.metrics.get(ACTION_RETRIES) == 2
    assert h.sink.errors == [("hook", "ns/a", "receiver down")]
    assert [e[:2] for e in h.sink.events] == [("Warning", "ActionFailed")]
    assert len(h.progress) == 0


def test_permanent_failure_is_not_retried() -> None:
    def bad(config: Any, event: Event) -> str:
        raise PermanentActionError("403 forbidden")

    h = make({"patch": bad}, attempts=5)
    h.put("update", "ns/a", "7")
    assert h.drain(advance=10.0) == [FAILED]
    assert h.runs == Counter({("patch", "ns/a", "7"): 1})
    assert h.metrics.get(ACTION_RETRIES) == 0 and h.metrics.get(ACTIONS_FAILED) == 1


def test_unexpected_exception_counts_as_permanent() -> None:
    def buggy(config: Any, event: Event) -> str:
        raise KeyError("oops")

    h = make({"x": buggy}, attempts=5)
    h.put("update", "ns/a", "1")
    assert h.drain(advance=10.0) == [FAILED]
    assert h.metrics.get(ACTIONS_FAILED) == 1


def test_filter_error_is_a_counted_non_match() -> None:
    def explode(obj: Any) -> bool:
        raise ValueError("cannot compare 'abc' with 5")

    h = make({"log": ok}, filters=explode)
    h.put("update", "ns/a", "1")
    assert h.drain() == [FILTERED]
    assert not h.runs and h.metrics.get(FILTER_ERRORS) == 1
    assert h.metrics.get(EVENTS_MATCHED) == 0 and len(h.progress) == 0
    assert [e[:2] for e in h.sink.events] == [("Warning", "FilterError")]


@pytest.mark.parametrize(("result", "runs"), [(True, 1), (False, 0), ("yes", 0), (1, 0)])
def test_only_a_true_filter_result_passes(result: Any, runs: int) -> None:
    h = make({"log": ok}, filters=lambda obj: result)
    h.put("update", "ns/a", "1")
    h.drain()
    assert sum(h.runs.values()) == runs and h.metrics.get(FILTER_ERRORS) == 0


def test_filters_see_the_object_and_run_once_across_retries() -> None:
    seen: list[str] = []

    def only_web(obj: Any) -> bool:
        seen.append(obj["metadata"]["name"])
        return bool(obj["metadata"]["name"] == "web")

    h = make({"hook": flaky(1)}, filters=only_web)
    h.put("update", "ns/web", "1", {"metadata": {"name": "web"}})
    h.put("update", "ns/db", "2", {"metadata": {"name": "db"}})
    h.drain(advance=10.0)
    assert seen == ["web", "db"]  # the retry did not evaluate the filters again
    assert h.runs == Counter({("hook", "ns/web", "1"): 2})


def test_retry_honours_retry_after_and_does_not_block_other_keys() -> None:
    h = make({"hook": flaky(1, retry_after=30.0)}, rand=lambda: 0.0)
    h.put("update", "ns/a", "1")
    assert h.delivery.process(h.queue.get(timeout=0)) == RETRY  # type: ignore[arg-type]
    h.put("update", "ns/b", "2")
    assert h.drain() == [DONE]  # b runs while a waits
    h.clock.now += 29.9
    assert h.queue.get(timeout=0) is None
    h.clock.now += 0.2
    assert h.drain() == [DONE]
    assert h.runs == Counter({("hook", "ns/a", "1"): 2, ("hook", "ns/b", "2"): 1})


def test_rate_limit_spaces_action_runs() -> None:
    h = make({"log": ok}, limiter=TokenBucket(rate=50, burst=1))
    for i in range(6):
        h.put("update", f"ns/k{i}", str(i))
    start = time.monotonic()
    assert h.drain() == [DONE] * 6
    assert time.monotonic() - start >= 0.09  # 5 waits of 20 ms


def test_workers_process_concurrently_and_drain() -> None:
    h = make({"log": ok})
    h.delivery.start(3)
    for i in range(50):
        h.put("create", f"ns/k{i}", str(i))
    deadline = time.monotonic() + 5
    while len(h.progress) and time.monotonic() < deadline:
        time.sleep(0.01)
    h.queue.close()
    assert h.delivery.drain(time.monotonic() + 2)
    assert h.runs == Counter({("log", f"ns/k{i}", str(i)): 1 for i in range(50)})
