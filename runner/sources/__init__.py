"""Sources: what turns the outside world into events. One module per source kind.

``SOURCES`` is the registry: the parsed source config type (from runner.spec)
maps to the class that runs it. Every class takes ``(config, SourceContext)``
and fulfils ``runner.sources.base.Source``.
"""

from __future__ import annotations

from typing import Any

from runner.sources.cron import CronTicker
from runner.sources.resource import ResourceWatcher
from runner.spec.parse import CronSource, ResourceSource

SOURCES: dict[type, Any] = {
    ResourceSource: ResourceWatcher,
    CronSource: CronTicker,
}
