"""The Trigger's ``.status``, written by its runner: counters, conditions, last fired/error.

Writes are merge patches to the status subresource, at most one every
``interval`` seconds (conditions changes go out at once), and carry only the
fields that changed since the last write (the checkpoint's key list can be
tens of KiB). Counters continue from what the previous run reported, so a
restart never makes them go down.

``Ready`` is derived, never set on its own: True only while this runner's
source is watching and the Trigger still holds the spec it runs (SpecInSync);
otherwise False with the reason (RunnerStarting, SourceUnavailable,
SpecNotRendered, RunnerStopped, ...). Every condition carries the generation of
the Trigger as last read (``observe_generation``), rewritten when it moves even
if nothing else changed, so ``kubectl wait --for=condition=Ready`` and tools
that compare generations see a current answer.
"""

from __future__ import annotations

import datetime
import logging
import threading
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from runner import API_VERSION, redact
from runner.conditions import (
    READY,
    RUNNER_FAILED,
    RUNNER_STARTING,
    RUNNING,
    SOURCE_UNAVAILABLE,
    SPEC_IN_SYNC,
    SPEC_NOT_RENDERED,
    WATCHING,
)
from runner.conditions import RUNNER_STOPPED as RUNNER_STOPPED  # runner.engine stops with it
from runner.metrics import (
    ACTIONS_FAILED,
    ACTIONS_SUCCEEDED,
    EVENTS_MATCHED,
    EVENTS_SEEN,
    FILTER_ERRORS,
    Metrics,
)
from runner.oneline import shorten

if TYPE_CHECKING:
    from runner.kube.client import KubeClient

#: status.counters field -> metrics counter.
COUNTERS: dict[str, str] = {
    "eventsSeen": EVENTS_SEEN,
    "eventsMatched": EVENTS_MATCHED,
    "actionsSucceeded": ACTIONS_SUCCEEDED,
    "actionsFailed": ACTIONS_FAILED,
    "filterErrors": FILTER_ERRORS,
}
CONDITION_TYPES = (READY, WATCHING, SPEC_IN_SYNC)
MAX_MESSAGE = 1000
#: lastError.summary: the error shortened for a table cell (``get -o wide``)
MAX_SUMMARY = 80


def now_rfc3339(clock: Callable[[], float] = time.time) -> str:
    """A UTC timestamp in Kubernetes' format (seconds precision)."""
    return datetime.datetime.fromtimestamp(clock(), datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class StatusWriter:
    """Accumulates the runner's state and flushes it to the Trigger's status."""

    def __init__(
        self,
        client: KubeClient | None,
        name: str,
        namespace: str,
        generation: int | None,
        metrics: Metrics,
        log: logging.Logger,
        *,
        previous: Mapping[str, Any] | None = None,
        checkpoint: Callable[[], dict[str, Any] | None] = lambda: None,
        interval: float = 2.0,
        clock: Callable[[], float] = time.time,
        kind: str = "Trigger",
    ) -> None:
        self.client = client
        self.name = name
        self.namespace = namespace
        self.kind = kind  # Trigger, or ClusterTrigger (cluster-scoped: no namespace in its path)
        self.generation = generation
        self.metrics = metrics
        self.log = log
        self.interval = interval
        self.clock = clock
        self._checkpoint = checkpoint
        self._lock = threading.Lock()
        self._kick = threading.Event()
        self._flush_lock = threading.Lock()
        previous = previous or {}
        base = previous.get("counters") or {}
        self._base = {k: int(base.get(k) or 0) for k in COUNTERS}
        self._conditions: dict[str, dict[str, Any]] = {
            c["type"]: dict(c)
            for c in previous.get("conditions") or []
            if isinstance(c, dict) and c.get("type") in CONDITION_TYPES
        }
        self._last_fired: str | None = previous.get("lastFired")
        self._last_error: Any = previous.get("lastError")
        self._written: dict[str, Any] = {}
        #: the Trigger's metadata.generation as last read; every condition carries it
        self.observed_generation = generation
        #: why this runner cannot be Ready whatever its source does (stopping, failed)
        self._failure: tuple[str, str] | None = None
        #: Watching as reported by this run's source (not the previous run's)
        self._watching_reported = False
        self._conditions_held = False
        self._info: Any = None
        self._last_flush = 0.0
        self.enabled = client is not None
        if self._conditions:  # a previous run's Ready=True must not be written back as ours
            self._derive_ready()

    # -- what happened ------------------------------------------------------------------

    def set_condition(self, type_: str, ok: bool, reason: str, message: str) -> None:
        """Set a condition; a change is written at once. Watching and SpecInSync move Ready."""
        with self._lock:
            changed = self._set(type_, ok, reason, message)
            self._watching_reported = self._watching_reported or type_ == WATCHING
            if type_ in (WATCHING, SPEC_IN_SYNC):
                changed = self._derive_ready() or changed
        if changed:
            self._kick.set()

    def observe_generation(self, generation: Any) -> None:
        """The Trigger was read at ``generation``: every condition is rewritten with it."""
        if not isinstance(generation, int) or generation == self.observed_generation:
            return
        with self._lock:
            self.observed_generation = generation
            for condition in self._conditions.values():
                condition["observedGeneration"] = generation
        self._kick.set()

    def fail(self, reason: str, message: str) -> None:
        """This runner cannot be Ready any more (stopping, or a part of it failed)."""
        with self._lock:
            self._failure = (reason, message)
            changed = self._derive_ready()
        if changed:
            self._kick.set()

    @property
    def failure(self) -> tuple[str, str] | None:
        """(reason, message) once ``fail`` was called."""
        return self._failure

    def hold_conditions(self, hold: bool = True) -> None:
        """Write no more conditions (a newer runner or the plugin owns them now), or again."""
        with self._lock:
            self._conditions_held = hold

    def written_by_another(self, live: Mapping[str, Any]) -> bool:
        """True when the live Trigger's conditions are not the ones this runner last wrote.

        With no controller, a runner being replaced writes its final ``RunnerStopped``
        when it stops, which may land after its successor's first ``Ready=True``; and
        anyone with status rights may write. Whoever reads the object (runner.sync)
        asks this, and the current runner writes its conditions again.
        """
        with self._lock:
            ours = self._written.get("conditions")
        if not ours:
            return False
        theirs = (live.get("status") or {}).get("conditions") or []
        return _condition_keys(theirs) != _condition_keys(ours)

    def rewrite_conditions(self) -> None:
        """Write this runner's conditions again at the next flush (they were overwritten)."""
        with self._lock:
            self._written.pop("conditions", None)
        self._kick.set()

    def _set(self, type_: str, ok: bool, reason: str, message: str) -> bool:
        status = "True" if ok else "False"
        text = redact.scrub(message)[:MAX_MESSAGE]
        generation = self.observed_generation
        old = self._conditions.get(type_)
        if old and (
            old.get("status"),
            old.get("reason"),
            old.get("message"),
            old.get("observedGeneration"),
        ) == (status, reason, text, generation):
            return False
        changed_status = old is None or old.get("status") != status
        self._conditions[type_] = {
            "type": type_,
            "status": status,
            "reason": reason,
            "message": text,
            "lastTransitionTime": now_rfc3339(self.clock)
            if changed_status
            else old.get("lastTransitionTime", now_rfc3339(self.clock)),  # type: ignore[union-attr]
            **({"observedGeneration": generation} if generation else {}),
        }
        return True

    def _derive_ready(self) -> bool:
        """Ready from what this runner knows: failure, then spec, then source."""
        spec = self._conditions.get(SPEC_IN_SYNC)
        watching = self._conditions.get(WATCHING)
        if self._failure is not None:
            return self._set(READY, False, *self._failure)
        if spec is not None and spec.get("status") == "False":
            return self._set(READY, False, SPEC_NOT_RENDERED, str(spec.get("message", "")))
        if watching is None or not self._watching_reported:
            return self._set(
                READY,
                False,
                RUNNER_STARTING,
                "the runner is starting: its source is not watching yet",
            )
        if watching.get("status") != "True":
            return self._set(READY, False, SOURCE_UNAVAILABLE, str(watching.get("message", "")))
        return self._set(READY, True, RUNNING, str(watching.get("message", "")))

    def fired(self) -> None:
        """An event matched just now."""
        with self._lock:
            self._last_fired = now_rfc3339(self.clock)

    def error(self, action: str, key: str, message: str) -> None:
        """An action failed for good (registered secrets are scrubbed from ``message``)."""
        with self._lock:
            text = redact.scrub(message)[:MAX_MESSAGE]
            self._last_error = {
                "time": now_rfc3339(self.clock),
                "action": action,
                "key": key,
                "message": text,
                "summary": shorten(f"{action}: {text}", MAX_SUMMARY),
            }

    # -- writing ----------------------------------------------------------------------

    def build(self) -> dict[str, Any]:
        """The full status as it would be written now."""
        counters = self.metrics.snapshot()
        with self._lock:
            status: dict[str, Any] = {
                "counters": {
                    field: self._base[field] + int(counters.get(metric, 0))
                    for field, metric in COUNTERS.items()
                },
                "conditions": [
                    dict(self._conditions[t]) for t in CONDITION_TYPES if t in self._conditions
                ],
                "lastFired": self._last_fired,
                "lastError": self._last_error,
            }
        if self._conditions_held:
            del status["conditions"]
        if self.generation is not None:
            status["observedGeneration"] = self.generation
        checkpoint = self._checkpoint()
        if checkpoint is not None:
            status["checkpoint"] = checkpoint
        return status

    def changes(self) -> dict[str, Any]:
        """The fields that differ from what was last written (the checkpoint's time aside)."""
        status = self.build()
        diff = {}
        for field, value in status.items():
            old = self._written.get(field)
            if field == "checkpoint" and _same_checkpoint(old, value):
                continue
            if old != value:
                diff[field] = value
        return diff

    def flush(self) -> bool:
        """Write what changed; True when something was written."""
        with self._flush_lock:
            return self._flush()

    def _flush(self) -> bool:
        self._last_flush = time.monotonic()
        if not self.enabled:
            return False
        diff = self.changes()
        if not diff:
            return False
        from runner.kube.errors import ApiError, ConnectionFailed, NotFound

        try:
            self._patch({"status": _scrubbed(diff)})
        except NotFound:
            self.log.warning(
                "the Trigger %s/%s is gone; no more status writes", self.namespace, self.name
            )
            self.enabled = False
            return False
        except (ApiError, ConnectionFailed, OSError) as exc:
            self.log.warning("status write failed (will retry): %s", exc)
            return False
        self._written.update(diff)
        return True

    def run(self, stop: threading.Event, after: Callable[[], Any] | None = None) -> None:
        """Flush every ``interval`` seconds, or at once after a condition change, until stopped.

        ``after`` runs after each flush (the Event recorder's batch).
        """
        while not stop.is_set():
            self._kick.wait(self.interval)
            self._kick.clear()
            if stop.is_set():
                break
            wait = self.interval - (time.monotonic() - self._last_flush)
            if wait > 0 and not self._urgent():
                stop.wait(wait)
            self.flush()
            if after is not None:
                after()

    def _urgent(self) -> bool:
        with self._lock:
            return [self._conditions.get(t) for t in CONDITION_TYPES] != list(
                self._written_conditions()
            )

    def _written_conditions(self) -> list[Any]:
        written = {c["type"]: c for c in self._written.get("conditions") or []}
        return [written.get(t) for t in CONDITION_TYPES]

    def _patch(self, body: dict[str, Any]) -> None:
        assert self.client is not None
        if self._info is None:
            self._info = self.client.resource(API_VERSION, self.kind)
        self.client.patch(
            self._info,
            self.name,
            body,
            namespace=self.namespace if self.kind == "Trigger" else None,
            patch_type="merge",
            subresource="status",
        )


def _condition_keys(conditions: Any) -> list[tuple[Any, ...]]:
    """What makes two condition lists the same report (times and wording aside)."""
    keys = ("type", "status", "reason", "observedGeneration")
    return [tuple(c.get(k) for k in keys) for c in conditions if isinstance(c, Mapping)]


def _same_checkpoint(old: Any, new: Any) -> bool:
    """Equal but for the time: not worth a write on its own."""
    if not isinstance(old, dict) or not isinstance(new, dict):
        return False
    return {k: v for k, v in old.items() if k != "time"} == {
        k: v for k, v in new.items() if k != "time"
    }


def _scrubbed(diff: dict[str, Any]) -> dict[str, Any]:
    """Every text field scrubbed of registered secrets; the checkpoint's keys stay exact."""
    return {k: v if k == "checkpoint" else redact.scrub_data(v) for k, v in diff.items()}


def report_exit(
    client: KubeClient,
    kind: str,
    namespace: str | None,
    name: str,
    message: str,
    log: logging.Logger,
) -> bool:
    """Write Ready=False (RunnerFailed) for a runner exiting on an error; True if written.

    Nothing is written when the Trigger no longer holds the spec rendered into this
    pod (``TRIGGER_SPEC_DIGEST``): the conditions then belong to a newer runner.
    """
    import os

    from runner.rendered import ENV_SPEC_DIGEST, spec_digest

    info = client.resource(API_VERSION, kind)
    live = client.get(info, name, namespace=namespace)
    digest = os.environ.get(ENV_SPEC_DIGEST)
    if digest and spec_digest(live.get("spec")) != digest:
        return False
    writer = StatusWriter(
        client,
        name,
        namespace or "",
        None,
        Metrics(),
        log,
        previous=live.get("status") or {},
        kind=kind,
    )
    writer.observe_generation((live.get("metadata") or {}).get("generation"))
    writer.fail(RUNNER_FAILED, message)
    writer.set_condition(WATCHING, False, RUNNER_FAILED, "not watching: the runner exited")
    return writer.flush()
