"""Kubernetes Events on the Trigger (``kubectl describe trigger`` shows them), without floods.

Recording never blocks a worker: ``record`` only counts. ``flush`` (called by
the engine's status loop) writes at most one API call per (type, reason): the
first occurrence creates a core/v1 Event, later ones within ``REUSE_SECONDS``
raise its ``count`` and update its message and ``lastTimestamp``, the way the
kubelet aggregates repeated Events. Messages are scrubbed of every registered
secret (``runner.redact``) before they are cut to ``MAX_MESSAGE``, so no part
of a secret is left at the cut.
"""

from __future__ import annotations

import datetime
import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from runner import API_VERSION, redact
from runner.conditions import SPEC_INVALID as SPEC_INVALID  # also the Ready reason

if TYPE_CHECKING:
    from runner.kube.client import KubeClient

COMPONENT = "kubectl-trigger-runner"
#: An Event object is reused (its count raised) for this long after it was created.
REUSE_SECONDS = 600.0
MAX_MESSAGE = 1024

NORMAL = "Normal"
WARNING = "Warning"
FIRED = "Fired"
ACTION_FAILED = "ActionFailed"
FILTER_ERROR = "FilterError"


@dataclass
class _Pending:
    count: int
    message: str


@dataclass
class _Written:
    name: str
    count: int
    created: float


#: where Events on a ClusterTrigger go (as for Nodes: "default", the only namespace allowed)
CLUSTER_EVENTS = "default"


class EventRecorder:
    """Aggregates Events for one Trigger and writes them in batches."""

    def __init__(
        self,
        client: KubeClient | None,
        trigger: dict[str, Any],
        log: logging.Logger,
        clock: Callable[[], float] = time.time,
    ) -> None:
        meta = trigger.get("metadata") or {}
        self.client = client
        kind = str(trigger.get("kind") or "Trigger")
        # the API server takes Events on a cluster-scoped object only in "default"
        self.namespace = (
            str(meta.get("namespace") or "default") if kind == "Trigger" else CLUSTER_EVENTS
        )
        self.name = str(meta.get("name") or "trigger")
        self.involved = {
            "apiVersion": API_VERSION,
            "kind": kind,
            "name": self.name,
            **({"namespace": self.namespace} if kind == "Trigger" else {}),
            **({"uid": meta["uid"]} if meta.get("uid") else {}),
        }
        self.log = log
        self.clock = clock
        self._lock = threading.Lock()
        self._pending: dict[tuple[str, str], _Pending] = {}
        self._written: dict[tuple[str, str], _Written] = {}
        self._info: Any = None
        self.enabled = client is not None and bool(meta.get("uid"))

    def record(self, type_: str, reason: str, message: str) -> None:
        """Count one occurrence; written by the next ``flush``."""
        message = redact.scrub(message)
        with self._lock:
            pending = self._pending.get((type_, reason))
            if pending is None:
                self._pending[(type_, reason)] = _Pending(1, message[:MAX_MESSAGE])
            else:
                pending.count += 1
                pending.message = message[:MAX_MESSAGE]

    def flush(self) -> int:
        """Write pending Events; returns how many API writes were made."""
        with self._lock:
            pending, self._pending = self._pending, {}
        if not self.enabled:
            return 0
        from runner.kube.errors import ApiError, ConnectionFailed

        writes = 0
        for (type_, reason), item in pending.items():
            try:
                self._write(type_, reason, item)
                writes += 1
            except (ApiError, ConnectionFailed, OSError) as exc:
                self.log.warning("could not record Event %s: %s", reason, exc)
        return writes

    def _write(self, type_: str, reason: str, item: _Pending) -> None:
        assert self.client is not None
        if self._info is None:
            self._info = self.client.resource("v1", "Event")
        now = self.clock()
        stamp = _rfc3339(now)
        written = self._written.get((type_, reason))
        if written is not None and now - written.created < REUSE_SECONDS:
            from runner.kube.errors import NotFound

            written.count += item.count
            try:
                self.client.patch(
                    self._info,
                    written.name,
                    {"count": written.count, "message": item.message, "lastTimestamp": stamp},
                    namespace=self.namespace,
                    patch_type="merge",
                )
                return
            except NotFound:
                pass  # expired or deleted: create a new one
        name = f"{self.name}.{time.time_ns():x}"
        body = {
            "apiVersion": "v1",
            "kind": "Event",
            "metadata": {"name": name, "namespace": self.namespace},
            "involvedObject": self.involved,
            "type": type_,
            "reason": reason,
            "message": item.message,
            "count": item.count,
            "firstTimestamp": stamp,
            "lastTimestamp": stamp,
            "source": {"component": COMPONENT},
            "reportingComponent": COMPONENT,
            "reportingInstance": os.environ.get("HOSTNAME", COMPONENT)[:128],
        }
        self.client.create(self._info, body, namespace=self.namespace)
        self._written[(type_, reason)] = _Written(name, item.count, now)


def _rfc3339(ts: float) -> str:
    return datetime.datetime.fromtimestamp(ts, datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
