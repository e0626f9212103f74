"""The parsed Trigger: frozen, typed config that the engine, sources and actions run on.

``runner.spec.parse.parse_trigger`` is the only producer. Everything here is
already checked and compiled (paths, selectors, schedules, filters), so code
downstream never re-validates or parses a string; defaults live in this module
so docs/spec.md, the parser and the engine agree on them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from runner.event import EVENT_TYPES
from runner.filters.base import Predicate
from runner.spec.cron import CronSchedule
from runner.spec.jsonpath import JsonPath
from runner.spec.selectors import FieldSelector, LabelSelector

DEFAULT_RATE_PER_SECOND = 10.0
DEFAULT_BURST = 20
DEFAULT_RETRY_ATTEMPTS = 5
DEFAULT_RETRY_INITIAL = 1.0
DEFAULT_RETRY_MAX = 60.0
DEFAULT_WORKERS = 4
DEFAULT_QUEUE_SIZE = 10000
DEFAULT_TIME_ZONE = "UTC"
TRIGGER = "Trigger"
CLUSTER_TRIGGER = "ClusterTrigger"
KINDS = (TRIGGER, CLUSTER_TRIGGER)


@dataclass(frozen=True, slots=True)
class ResourceSource:
    """``spec.source.resource``: events for objects of one kind."""

    api_version: str
    kind: str
    #: namespaces to watch; None watches all namespaces
    namespaces: tuple[str, ...] | None
    label_selector: LabelSelector | None = None
    field_selector: FieldSelector | None = None
    events: frozenset[str] = frozenset(EVENT_TYPES)
    #: an update fires only if the values at one of these paths changed (empty: any update)
    changed: tuple[JsonPath, ...] = ()
    fire_on_start: bool = False


@dataclass(frozen=True, slots=True)
class CronSource:
    """``spec.source.cron``: one ``cron`` event at each scheduled time."""

    schedule: CronSchedule
    time_zone: str = DEFAULT_TIME_ZONE
    #: seconds; after a restart, one run missed within this window fires once
    catch_up_window: float = 0.0


Source = ResourceSource | CronSource


@dataclass(frozen=True, slots=True)
class ActionEntry:
    """One item of ``spec.actions``: the registry key and that action's parsed config."""

    name: str
    kind: str  # key in runner.actions.ACTIONS
    config: Any
    field: str  # "spec.actions[2]"


@dataclass(frozen=True, slots=True)
class Options:
    """``spec.options``: delivery tuning."""

    rate_per_second: float = DEFAULT_RATE_PER_SECOND
    burst: int = DEFAULT_BURST
    retry_attempts: int = DEFAULT_RETRY_ATTEMPTS  # tries per action, the first included
    retry_initial: float = DEFAULT_RETRY_INITIAL  # seconds
    retry_max: float = DEFAULT_RETRY_MAX  # seconds
    workers: int = DEFAULT_WORKERS
    queue_size: int = DEFAULT_QUEUE_SIZE


@dataclass(frozen=True, slots=True)
class RunnerOptions:
    """``spec.runner``: how the plugin renders the runner Deployment."""

    image: str | None = None
    resources: Mapping[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class TriggerConfig:
    """A whole checked Trigger or ClusterTrigger.

    ``namespace`` is where the runner lives: a Trigger's own namespace, or for a
    ClusterTrigger the controlled namespace (its Secrets, Events and defaults).
    """

    name: str
    namespace: str
    generation: int
    uid: str
    source: Source
    #: all filters as one predicate; None when there are none
    filters: Predicate | None
    #: the raw filter items, kept for describe/test output
    filter_specs: tuple[Mapping[str, Any], ...]
    actions: tuple[ActionEntry, ...]
    options: Options = field(default_factory=Options)
    runner: RunnerOptions = field(default_factory=RunnerOptions)
    kind: str = TRIGGER

    @property
    def cluster_scoped(self) -> bool:
        """True for a ClusterTrigger."""
        return self.kind == CLUSTER_TRIGGER
