"""One running trigger: source -> keyed queue -> delivery workers, plus status, Events and metrics.

The engine only wires the parts together and owns their life cycle:
``start()`` brings up the metrics port, the workers, the status loop and the
source thread; ``shutdown()`` stops the source, lets in-flight actions finish
within a deadline and writes the final status and checkpoint. It is also the
one place that registers each event with ``Progress`` before queueing it,
which is what makes the checkpoint safe to write at any moment.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from runner.checkpoint import Progress, encode_keys
from runner.delivery import Delivery, RetryPolicy
from runner.event import Event
from runner.k8s_events import EventRecorder
from runner.memory import trim
from runner.metrics import (
    EVENTS_COALESCED,
    EVENTS_SEEN,
    INDEXED_OBJECTS,
    QUEUE_DEPTH,
    QUEUE_OVERFLOWS,
    Metrics,
)
from runner.queue import KeyedQueue, PutResult
from runner.ratelimit import TokenBucket
from runner.sources import SOURCES
from runner.sources.base import Source, SourceContext
from runner.status import RUNNER_STOPPED, StatusWriter, now_rfc3339

if TYPE_CHECKING:
    from runner.kube.client import KubeClient

DRAIN_SECONDS = 20.0


class Engine:
    """Builds and runs every part of one trigger's runner."""

    def __init__(
        self,
        config: Any,  # runner.spec TriggerConfig
        client: KubeClient,
        trigger: Mapping[str, Any],
        log: logging.Logger,
        *,
        write_status: bool = True,
        source_digest: str = "",
        registry: Mapping[str, Any] | None = None,
        status_interval: float = 2.0,
    ) -> None:
        from runner.actions.base import ActionContext
        from runner.secrets import SecretReader

        self.config = config
        self.client = client
        self.log = log
        self.source_digest = source_digest
        self.stop = threading.Event()
        self.metrics = Metrics()
        self.progress = Progress()
        options = config.options
        self.queue = KeyedQueue(int(getattr(options, "queue_size", 10_000) or 10_000))
        previous = dict(trigger.get("status") or {})
        self.status = StatusWriter(
            client if write_status else None,
            config.name,
            config.namespace,
            config.generation,
            self.metrics,
            log,
            previous=previous,
            checkpoint=self.checkpoint,
            interval=status_interval,
            kind=getattr(config, "kind", "Trigger"),
        )
        self.recorder = EventRecorder(client if write_status else None, dict(trigger), log)
        ctx = SourceContext(
            emit=self.emit,
            progress=self.progress,
            metrics=self.metrics,
            log=logging.getLogger("runner.source"),
            client=client,
            trigger_namespace=config.namespace,
            restored=self._restorable(previous.get("checkpoint")),
            has_room=lambda: len(self.queue) < self.queue.maxsize // 2,
            report=self._report_watching,
        )
        self.source: Source = SOURCES[type(config.source)](config.source, ctx)
        if registry is None:
            from runner.actions import ACTIONS

            registry = ACTIONS
        self.delivery = Delivery(
            queue=self.queue,
            progress=self.progress,
            metrics=self.metrics,
            actions=config.actions,
            registry=registry,
            context=ActionContext(
                client=client,
                read_secret=SecretReader(client, config.namespace),
                trigger_name=config.name,
                trigger_namespace=config.namespace,
                log=logging.getLogger("runner.action"),
            ),
            filters=config.filters,
            limiter=TokenBucket(options.rate_per_second, options.burst),
            retry=RetryPolicy(
                int(options.retry_attempts or 1),
                float(options.retry_initial or 1.0),
                float(options.retry_max or 60.0),
            ),
            status=self.status,
            events=self.recorder,
            log=logging.getLogger("runner.delivery"),
        )
        self.metrics.gauge(QUEUE_DEPTH, lambda: len(self.queue))
        self.metrics.gauge(INDEXED_OBJECTS, self._indexed)
        self._keys_cache: tuple[Any, str | None] = (None, None)
        self._threads: list[threading.Thread] = []
        self._announced = False

    # -- life cycle -------------------------------------------------------------------

    def start(self, metrics_address: str | None = None) -> None:
        """Start the workers, the status loop, the source and (optionally) the metrics port."""
        self.delivery.start(int(getattr(self.config.options, "workers", 4) or 4))
        self._spawn(self._run_source, "source")
        self._spawn(self._housekeeping, "status")
        if metrics_address:
            from runner.metrics import serve

            serve(
                metrics_address,
                self.metrics,
                self.ready,
                self.log,
                {"trigger": f"{self.config.namespace}/{self.config.name}"},
            )

    def ready(self) -> bool:
        """For /readyz: the source has listed and is watching (or the schedule is armed)."""
        return self.source.ready()

    def shutdown(self, drain_seconds: float = DRAIN_SECONDS) -> bool:
        """Stop the source, finish in-flight actions (up to the deadline), write final status."""
        self.stop.set()
        self.queue.close()
        drained = self.delivery.drain(time.monotonic() + drain_seconds)
        if not drained:
            self.log.warning(
                "%d action(s) still running after %.0fs; the checkpoint stays before them",
                self.delivery.in_flight,
                drain_seconds,
            )
        if self.status.failure is None:  # a failure already says why it stops
            self.status.fail(
                RUNNER_STOPPED, "the runner stopped (its pod is being replaced or deleted)"
            )
        self.status.set_condition("Watching", False, "Stopped", "the runner is shutting down")
        self.status.flush()
        self.recorder.flush()
        return drained

    # -- the source's side ------------------------------------------------------------

    def emit(self, event: Event) -> bool:
        """Register ``event`` with Progress, then queue it; False when the queue refused it."""
        self.progress.started(event.key, event.resource_version, event.type)
        result = self.queue.put(event)
        if result is PutResult.QUEUED:
            self.metrics.inc(EVENTS_SEEN)
            return True
        self.progress.finished(event.key)
        if result is PutResult.MERGED:
            self.metrics.inc(EVENTS_SEEN)
            self.metrics.inc(EVENTS_COALESCED)
            return True
        self.metrics.inc(QUEUE_OVERFLOWS)
        return False

    def request_relist(self) -> None:
        """A forced relist (SIGUSR1)."""
        self.log.info("relist requested")
        self.source.request_relist()

    def checkpoint(self) -> dict[str, Any] | None:
        """The record for ``status.checkpoint`` (see runner.checkpoint), or None if none is safe."""
        part = self.source.checkpoint()
        if part is None:
            return None
        pending = self.progress.pending()
        frontier = self.progress.frontier(part.get("resourceVersions") or {}, pending)
        if not frontier:
            return None
        record: dict[str, Any] = {
            "source": self.source_digest,
            "time": now_rfc3339(),
            "resourceVersions": {s: str(v) for s, v in sorted(frontier.items())},
        }
        indexes = getattr(self.source, "indexes", None)
        if indexes is not None:
            record["keys"] = self._keys(indexes(), pending, frontier)
        return record

    # -- internals --------------------------------------------------------------------

    def _keys(
        self,
        indexes: Mapping[str, Any],
        pending: dict[str, tuple[int | None, str]],
        frontier: dict[str, int],
    ) -> str | None:
        stamp = (
            tuple((name, idx.version) for name, idx in sorted(indexes.items())),
            tuple(sorted(pending.items())),
            tuple(sorted(frontier.items())),
        )
        if self._keys_cache[0] == stamp:
            return self._keys_cache[1]
        keys: list[str] = []
        for index in indexes.values():
            keys.extend(index.key_list())
        all_indexes = list(indexes.values())

        def lookup(key: str) -> Any:
            for index in all_indexes:
                entry = index.get(key)
                if entry is not None:
                    return entry
            return None

        text = encode_keys(keys, lookup, pending, frontier, frozenset(indexes))
        del keys
        trim()
        self._keys_cache = (stamp, text)
        return text

    def _restorable(self, checkpoint: Any) -> Mapping[str, Any] | None:
        if not isinstance(checkpoint, Mapping):
            return None
        if checkpoint.get("source") != self.source_digest:
            if checkpoint:
                self.log.info("the source changed since the checkpoint; starting afresh")
            return None
        return checkpoint

    def _report_watching(self, ok: bool, reason: str, message: str) -> None:
        self.status.set_condition("Watching", ok, reason, message)  # Ready follows (status.py)
        if ok and not self._announced:
            self._announced = True
            age = process_age()
            self.log.info(
                "%s (%.2fs after process start)",
                message,
                age or 0.0,
                extra={"startup_seconds": round(age, 3) if age is not None else None},
            )

    def _run_source(self) -> None:
        try:
            self.source.run(self.stop)
        except Exception:
            self.log.exception("the source failed; stopping")
            self.status.fail("SourceFailed", "the source failed; the runner exits and restarts")
            self.stop.set()

    def _housekeeping(self) -> None:
        self.status.run(self.stop, after=self.recorder.flush)

    def _indexed(self) -> float:
        indexes = getattr(self.source, "indexes", None)
        return float(sum(len(i) for i in indexes().values())) if indexes else 0.0

    def _spawn(self, target: Any, name: str) -> None:
        thread = threading.Thread(target=target, name=name, daemon=True)
        thread.start()
        self._threads.append(thread)


def process_age() -> float | None:
    """Seconds since this process started (Linux /proc; None elsewhere)."""
    import os

    try:
        with open("/proc/self/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        with open("/proc/uptime") as f:
            uptime = float(f.read().split()[0])
        return uptime - int(fields[19]) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None
