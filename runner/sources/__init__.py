"""Sources: what turns the outside world into events. One module per source kind.

``SOURCES`` is the registry: the parsed source config type (from runner.spec)
maps to the class that runs it. Every class takes ``(config, SourceContext)``
and fulfils ``runner.sources.base.Source``. The table is built on first use,
so importing a helper such as ``runner.sources.index`` pulls in neither the
spec parser nor the API client.
"""

from __future__ import annotations

from typing import Any


def _registry() -> dict[type, Any]:
    from runner.sources.cron import CronTicker
    from runner.sources.resource import ResourceWatcher
    from runner.spec.model import CronSource, ResourceSource

    return {
        ResourceSource: ResourceWatcher,
        CronSource: CronTicker,
    }


def __getattr__(name: str) -> Any:
    if name == "SOURCES":
        table = _registry()
        globals()["SOURCES"] = table
        return table
    raise AttributeError(name)
