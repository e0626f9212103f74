"""What every source gets from the engine, and what the engine expects back.

A source turns something outside (an object's changes, a clock) into
``Event``s. It runs an endless loop in its own thread(s) that stops when the
engine's stop flag is set; everything else it needs arrives in ``SourceContext``
so a source never reaches into the queue, the status or the metrics directly.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from runner.checkpoint import Progress
from runner.event import Event

if TYPE_CHECKING:
    from runner.kube.client import KubeClient
    from runner.metrics import Metrics


def _no_watching_report(ok: bool, reason: str, message: str) -> None:
    return None


@dataclass
class SourceContext:
    """The engine's side of a source."""

    #: queue an event (after registering it with ``progress``); False when it was dropped
    emit: Callable[[Event], bool]
    progress: Progress
    metrics: Metrics
    log: logging.Logger
    client: KubeClient | None = None
    trigger_namespace: str = "default"
    #: ``status.checkpoint`` from the last run, already checked to belong to this source
    restored: Mapping[str, Any] | None = None
    #: whether the queue has room again for a relist after an overflow
    has_room: Callable[[], bool] = lambda: True
    #: the Watching condition: (ok, reason, message)
    report: Callable[[bool, str, str], None] = field(default=_no_watching_report)


class Source(Protocol):
    """The engine's view of a running source."""

    def run(self, stop: threading.Event) -> None:
        """Produce events until ``stop`` is set (blocks; the engine runs it in a thread)."""

    def ready(self) -> bool:
        """True once the source is producing events (first list done, watch running)."""

    def checkpoint(self) -> dict[str, Any] | None:
        """This source's part of ``status.checkpoint``, or None when nothing is safe to keep."""

    def request_relist(self) -> None:
        """Ask for a full relist (a no-op for sources without one)."""
