"""The event that flows from a source through filters to actions."""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

#: Event types a resource source emits; cron sources emit "cron".
EVENT_TYPES = ("create", "update", "delete")


@dataclass(frozen=True, slots=True)
class Event:
    """One thing that happened: an object created/updated/deleted, or a cron tick.

    ``key`` identifies the object (``namespace/name``) so the queue can coalesce
    bursts; ``object`` is the object as the API server sent it (its last state
    for a delete) and is dropped once the event has been handled.
    """

    type: str
    key: str
    object: Mapping[str, Any] | None = None
    resource_version: str = ""
    time: datetime.datetime = field(default_factory=lambda: datetime.datetime.now(datetime.UTC))

    def template_data(self, trigger_name: str, trigger_namespace: str) -> dict[str, Any]:
        """The data templates see: ``.event``, ``.object``, ``.trigger``, ``.time``."""
        return {
            "event": self.type,
            "object": self.object or {},
            "trigger": {"name": trigger_name, "namespace": trigger_namespace},
            "time": self.time.strftime("%Y-%m-%dT%H:%M:%SZ"),
        }
