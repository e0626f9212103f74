"""Workers that take events from the queue, apply the filters and run the actions in order.

Delivery rules (docs/spec.md, shared/DESIGN.md):

- filters see the event's object; one that raises is a non-match, logged,
  counted and recorded as a ``FilterError`` Event, never a pass; only a result
  that ``is True`` passes;
- actions run in order; each run takes a token from the trigger's rate limit;
- ``RetryableActionError`` is retried with exponential backoff and full jitter
  (never sooner than its ``retry_after``) up to ``retry_attempts`` tries in all.
  The retry is parked in the queue, not slept in the worker, and resumes at the
  failed action (earlier actions do not run twice); the object's newer events
  wait behind it, other objects go on;
- ``PermanentActionError`` (and any unexpected exception) is not retried; a
  failure for good stops that event's remaining actions and is reported as a
  Warning Event and ``status.lastError``;
- an event is ``finished`` for the checkpoint only once all of this is done.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from runner.actions.base import ActionContext, ActionError, ActionKind
from runner.backoff import retry_delay
from runner.checkpoint import Progress
from runner.filters.base import missing_paths
from runner.k8s_events import ACTION_FAILED, FILTER_ERROR, FIRED, NORMAL, WARNING
from runner.metrics import (
    ACTION_RETRIES,
    ACTION_SECONDS,
    ACTIONS_FAILED,
    ACTIONS_SUCCEEDED,
    EVENTS_MATCHED,
    FILTER_ERRORS,
    FILTER_MISSING_PATHS,
    Metrics,
)
from runner.queue import Item, KeyedQueue
from runner.ratelimit import TokenBucket

#: What ``Delivery.process`` did with an item.
DONE, FILTERED, FAILED, RETRY, STOPPED = "done", "filtered", "failed", "retry", "stopped"


class StatusSink(Protocol):
    """The status writer's side used by delivery."""

    def fired(self) -> None: ...

    def error(self, action: str, key: str, message: str) -> None: ...


class EventSink(Protocol):
    """The Event recorder's side used by delivery."""

    def record(self, type_: str, reason: str, message: str) -> None: ...


@dataclass(frozen=True)
class RetryPolicy:
    """``attempts`` tries in all; full-jitter delays from ``initial`` up to ``maximum``."""

    attempts: int = 5
    initial: float = 1.0
    maximum: float = 60.0


@dataclass
class Delivery:
    """The worker pool's logic; ``process`` handles one queue item and is unit-tested."""

    queue: KeyedQueue
    progress: Progress
    metrics: Metrics
    actions: Sequence[Any]  # ActionEntry(name, kind, config, field)
    registry: Mapping[str, ActionKind]
    context: ActionContext
    filters: Callable[[Any], Any] | None = None
    limiter: TokenBucket = field(default_factory=lambda: TokenBucket(None, None))
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    status: StatusSink | None = None
    events: EventSink | None = None
    log: logging.Logger = field(default_factory=lambda: logging.getLogger("runner.delivery"))
    rand: Callable[[], float] = random.random
    #: set when the drain deadline passed: workers stop waiting for rate-limit tokens
    abort: threading.Event = field(default_factory=threading.Event)
    _threads: list[threading.Thread] = field(default_factory=list)
    _busy: int = 0
    _busy_lock: threading.Lock = field(default_factory=threading.Lock)

    def start(self, workers: int) -> None:
        """Start ``workers`` daemon threads."""
        for i in range(max(1, workers)):
            thread = threading.Thread(target=self._work, name=f"worker-{i}", daemon=True)
            thread.start()
            self._threads.append(thread)

    def drain(self, deadline: float) -> bool:
        """After ``queue.close()``: wait for in-flight items until ``deadline`` (monotonic)."""
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        alive = any(t.is_alive() for t in self._threads)
        if alive:
            self.abort.set()
        return not alive

    @property
    def in_flight(self) -> int:
        """Items being processed right now."""
        return self._busy

    def _work(self) -> None:
        while True:
            item = self.queue.get(timeout=1.0)
            if item is None:
                if self.queue.closed:
                    return
                continue
            with self._busy_lock:
                self._busy += 1
            try:
                self.process(item)
            finally:
                with self._busy_lock:
                    self._busy -= 1

    def process(self, item: Item) -> str:
        """Filters then actions for one item; returns DONE, FILTERED, FAILED, RETRY or STOPPED."""
        event = item.event
        started = time.monotonic()
        if not item.matched:
            if not self._matches(item):
                self._finish(item)
                return FILTERED
            item.matched = True
            self.metrics.inc(EVENTS_MATCHED)
            if self.status is not None:
                self.status.fired()
        summaries: list[str] = []
        for index in range(item.action_index, len(self.actions)):
            entry = self.actions[index]
            if not self.limiter.take(self.abort):
                return STOPPED  # shutting down: unfinished, so the checkpoint stays before it
            try:
                summary = self._kind(entry).run(entry.config, event, self.context)
            except Exception as exc:
                outcome = self._failed(item, index, entry, exc)
                if outcome == RETRY:
                    return RETRY
                self.metrics.observe(ACTION_SECONDS, time.monotonic() - started)
                self._finish(item)
                return FAILED
            self.metrics.inc(ACTIONS_SUCCEEDED)
            item.attempt = 0
            summaries.append(f"{_label(entry)}: {summary}")
            self.log.info(
                "action %s ran for %s %s: %s",
                _label(entry),
                event.type,
                event.key,
                summary,
                extra={"event": event.type, "key": event.key, "rv": event.resource_version},
            )
        self.metrics.observe(ACTION_SECONDS, time.monotonic() - started)
        if self.events is not None:
            self.events.record(NORMAL, FIRED, f"{event.type} {event.key}: " + "; ".join(summaries))
        self._finish(item)
        return DONE

    # -- helpers ----------------------------------------------------------------------

    def _matches(self, item: Item) -> bool:
        if self.filters is None:
            return True
        event = item.event
        try:
            with missing_paths() as missing:
                held = self.filters(event.object or {}) is True
            if missing:
                self.metrics.inc(FILTER_MISSING_PATHS, len(missing))
                self.log.debug(
                    "on %s %s nothing was selected by %s",
                    event.type,
                    event.key,
                    ", ".join(dict.fromkeys(missing)),
                    extra={"key": event.key, "rv": event.resource_version},
                )
            return held
        except Exception as exc:
            self.metrics.inc(FILTER_ERRORS)
            message = f"filter error on {event.type} {event.key}: {type(exc).__name__}: {exc}"
            self.log.warning(message, extra={"key": event.key, "rv": event.resource_version})
            if self.events is not None:
                self.events.record(WARNING, FILTER_ERROR, message)
            return False

    def _failed(self, item: Item, index: int, entry: Any, exc: Exception) -> str:
        event = item.event
        retryable = bool(getattr(exc, "retryable", False))
        if not isinstance(exc, ActionError) and not _is_api_error(exc):
            self.log.exception("action %s raised unexpectedly", _label(entry))
            retryable = False
        tries = item.attempt + 1
        if retryable and tries < max(1, self.retry.attempts):
            delay = retry_delay(
                item.attempt,
                self.retry.initial,
                self.retry.maximum,
                getattr(exc, "retry_after", None),
                self.rand,
            )
            item.action_index = index
            item.attempt = tries
            self.metrics.inc(ACTION_RETRIES)
            self.log.warning(
                "action %s failed (try %d of %d), retrying in %.2fs: %s",
                _label(entry),
                tries,
                self.retry.attempts,
                delay,
                exc,
                extra={"key": event.key, "rv": event.resource_version},
            )
            self.queue.retry(item, delay)
            return RETRY
        self.metrics.inc(ACTIONS_FAILED)
        why = "out of retries" if retryable else "permanent"
        message = f"action {_label(entry)} failed ({why}) for {event.type} {event.key}: {exc}"
        self.log.error(message, extra={"key": event.key, "rv": event.resource_version})
        if self.status is not None:
            self.status.error(_label(entry), event.key, str(exc))
        if self.events is not None:
            self.events.record(WARNING, ACTION_FAILED, message)
        return FAILED

    def _kind(self, entry: Any) -> ActionKind:
        kind = entry.kind
        return kind if isinstance(kind, ActionKind) else self.registry[kind]

    def _finish(self, item: Item) -> None:
        self.queue.done(item)
        self.progress.finished(item.event.key)


def _label(entry: Any) -> str:
    kind = entry.kind.key if isinstance(entry.kind, ActionKind) else str(entry.kind)
    name = getattr(entry, "name", None)
    return f"{name} ({kind})" if name and name != kind else kind


def _is_api_error(exc: Exception) -> bool:
    return type(exc).__module__.startswith("runner.kube")
