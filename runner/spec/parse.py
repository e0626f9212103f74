"""``parse_trigger``: a whole Trigger object in, checked ``TriggerConfig`` out, or every error.

This is the one place raw spec becomes typed config (the plugin validates with
it before creating anything; the runner parses its own Trigger with it at
start-up). It collects every problem rather than stopping at the first, so a
user fixes a spec in one round, and each error names its field from the top
(``spec.filters[0].path``). Unknown fields are errors with a "did you mean",
because a misspelt optional field would otherwise be silently ignored.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from runner import API_VERSION
from runner.actions.base import ActionKind, ParseContext
from runner.event import EVENT_TYPES
from runner.filters import compile_filters
from runner.filters.base import Predicate
from runner.spec.cron import parse_cron
from runner.spec.durations import parse_duration
from runner.spec.errors import SpecError, SpecErrors, type_name
from runner.spec.jsonpath import JsonPath, compile_path
from runner.spec.model import (
    CLUSTER_TRIGGER,
    DEFAULT_TIME_ZONE,
    KINDS,
    ActionEntry,
    CronSource,
    Options,
    ResourceSource,
    RunnerOptions,
    Source,
    TriggerConfig,
)
from runner.spec.quantities import parse_quantity
from runner.spec.selectors import parse_field_selector, parse_label_selector

__all__ = [
    "TOP_LEVEL_FIELDS",
    "ActionEntry",
    "CronSource",
    "Options",
    "ResourceSource",
    "RunnerOptions",
    "TriggerConfig",
    "parse_trigger",
]

T = TypeVar("T")

#: a Trigger object's own fields; any other top-level key is a typo (``spce:``)
TOP_LEVEL_FIELDS = ("apiVersion", "kind", "metadata", "spec", "status")
_SPEC = ("source", "filters", "actions", "options", "runner")
_SOURCES = ("resource", "cron")
_RESOURCE = (
    "apiVersion",
    "kind",
    "namespaces",
    "labelSelector",
    "fieldSelector",
    "events",
    "changed",
    "fireOnStart",
)
_CRON = ("schedule", "timeZone", "catchUpWindow")
_OPTIONS = ("rateLimit", "retry", "workers", "queueSize")
_RATE = ("perSecond", "burst")
_RETRY = ("attempts", "initialDelay", "maxDelay")
_RUNNER = ("image", "resources")
_RESOURCES = ("requests", "limits")

_DNS_LABEL = re.compile(r"[a-z0-9](?:[-a-z0-9]{0,61}[a-z0-9])?")
_DNS_SUBDOMAIN = re.compile(
    r"[a-z0-9](?:[-a-z0-9]*[a-z0-9])?(?:\.[a-z0-9](?:[-a-z0-9]*[a-z0-9])?)*"
)
_API_VERSION = re.compile(r"(?:[a-z0-9](?:[-a-z0-9.]*[a-z0-9])?/)?v[0-9]+(?:(?:alpha|beta)[0-9]+)?")
_KIND = re.compile(r"[A-Z][A-Za-z0-9]*")
_ACTION_NAME = re.compile(r"[A-Za-z0-9](?:[-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?")

_USE_FIX = "apply the Trigger with kubectl trigger, which expands use: items into the spec"


class _Errors:
    """Collects SpecErrors while parsing goes on."""

    def __init__(self) -> None:
        self.items: list[SpecError] = []

    def add(self, path: str, message: str, fix: str | None = None) -> None:
        self.items.append(SpecError(path, message, fix))

    def attempt(self, fn: Callable[..., T], *args: Any) -> T | None:
        """``fn(*args)``, recording its SpecError(s) and returning None when it raises them."""
        try:
            return fn(*args)
        except SpecErrors as exc:
            self.items.extend(exc.errors)
        except SpecError as exc:
            self.items.append(exc)
        return None


def _mapping(value: Any, field: str, errors: _Errors, what: str = "a mapping") -> Mapping[str, Any]:
    """``value`` if it is a mapping (with string keys); else records an error and returns {}."""
    if not isinstance(value, Mapping):
        errors.add(field, f"must be {what}, got {type_name(value)}")
        return {}
    bad = [key for key in value if not isinstance(key, str)]
    if bad:
        errors.add(field, f"has a non-string key {bad[0]!r}", "quote the key")
        return {k: v for k, v in value.items() if isinstance(k, str)}
    return value


def _known(m: Mapping[str, Any], field: str, allowed: tuple[str, ...], errors: _Errors) -> None:
    """Record an error for each key of ``m`` not in ``allowed``, with a "did you mean"."""
    for key in m:
        if key in allowed:
            continue
        close = difflib.get_close_matches(key, allowed, n=1, cutoff=0.6)
        fix = f"did you mean {close[0]}?" if close else f"known fields: {', '.join(allowed)}"
        errors.add(_join(field, key), "unknown field", fix)


def _join(field: str, key: str) -> str:
    return f"{field}.{key}" if field else key


def _str(
    m: Mapping[str, Any],
    key: str,
    field: str,
    errors: _Errors,
    *,
    required: bool = False,
    default: str | None = None,
) -> str | None:
    path = _join(field, key)
    value = m.get(key)
    if value is None:
        if required:
            errors.add(path, "is required")
        return default
    if not isinstance(value, str):
        errors.add(path, f"must be a string, got {type_name(value)}")
        return default
    if not value.strip():
        errors.add(path, "must not be empty")
        return default
    return value


def _bool(m: Mapping[str, Any], key: str, field: str, errors: _Errors, default: bool) -> bool:
    value = m.get(key)
    if value is None:
        return default
    if not isinstance(value, bool):
        errors.add(_join(field, key), f"must be true or false, got {type_name(value)}")
        return default
    return value


def _int(
    m: Mapping[str, Any], key: str, field: str, errors: _Errors, default: int, low: int, high: int
) -> int:
    value = m.get(key)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int):
        errors.add(_join(field, key), f"must be a whole number, got {type_name(value)}")
        return default
    if not low <= value <= high:
        errors.add(_join(field, key), f"must be between {low} and {high}, got {value}")
        return default
    return value


def _number(
    m: Mapping[str, Any], key: str, field: str, errors: _Errors, default: float, low: float
) -> float:
    value = m.get(key)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        errors.add(_join(field, key), f"must be a number, got {type_name(value)}")
        return default
    if value <= low:
        errors.add(_join(field, key), f"must be greater than {low:g}, got {value}")
        return default
    return float(value)


def _duration(m: Mapping[str, Any], key: str, field: str, errors: _Errors, default: float) -> float:
    value = m.get(key)
    if value is None:
        return default
    parsed = errors.attempt(parse_duration, value, _join(field, key))
    return default if parsed is None else parsed


def _str_list(m: Mapping[str, Any], key: str, field: str, errors: _Errors) -> list[str] | None:
    """A list of non-empty strings at ``m[key]``; None when absent or bad (errors recorded)."""
    path = _join(field, key)
    value = m.get(key)
    if value is None:
        return None
    if not isinstance(value, list):
        fix = f"write {key}: [{value}]" if isinstance(value, str) else None
        errors.add(path, f"must be a list of strings, got {type_name(value)}", fix)
        return None
    if not value:
        errors.add(path, "must not be an empty list", f"omit {key} to use the default")
        return None
    good: list[str] = []
    for i, item in enumerate(value):
        if not isinstance(item, str) or not item.strip():
            errors.add(f"{path}[{i}]", f"must be a non-empty string, got {type_name(item)}")
        else:
            good.append(item)
    return good if len(good) == len(value) else None


# -- the whole object ------------------------------------------------------------------------


def parse_trigger(
    obj: Mapping[str, Any],
    actions: Mapping[str, ActionKind] | None = None,
    default_namespace: str = "default",
) -> TriggerConfig:
    """Check a whole Trigger object and compile it; raises SpecErrors listing every problem.

    ``actions`` is the action registry (None: ``runner.actions.ACTIONS``);
    ``default_namespace`` is used when ``metadata.namespace`` is absent. A
    ClusterTrigger has no namespace of its own: ``default_namespace`` is then the
    controlled namespace its runner lives in, and a resource source without
    ``namespaces`` watches every namespace.
    """
    errors = _Errors()
    if not isinstance(obj, Mapping):
        raise SpecErrors([SpecError("", f"a Trigger must be a mapping, got {type_name(obj)}")])
    _known(obj, "", TOP_LEVEL_FIELDS, errors)
    api_version = obj.get("apiVersion")
    if api_version != API_VERSION:
        errors.add(
            "apiVersion",
            f"must be {API_VERSION}, got {api_version!r}" if api_version else "is required",
            f"write apiVersion: {API_VERSION}",
        )
    kind = obj.get("kind")
    if kind not in KINDS:
        errors.add(
            "kind",
            f"expected Trigger or ClusterTrigger, got {kind!r}" if kind else "is required",
            "write kind: Trigger (or ClusterTrigger for a trigger that reaches other namespaces)",
        )
    cluster = kind == CLUSTER_TRIGGER
    raw_meta = obj.get("metadata")
    if cluster and isinstance(raw_meta, Mapping) and raw_meta.get("namespace"):
        errors.add(
            "metadata.namespace",
            "a ClusterTrigger is cluster-scoped and has no namespace",
            "remove metadata.namespace",
        )
        raw_meta = {k: v for k, v in raw_meta.items() if k != "namespace"}
    name, namespace, generation, uid = _metadata(raw_meta, errors, default_namespace)
    spec = _mapping(obj.get("spec"), "spec", errors) if "spec" in obj else {}
    if "spec" not in obj:
        errors.add("spec", "is required", "add spec: {source: ..., actions: [...]}")
    _known(spec, "spec", _SPEC, errors)
    source = _source(spec.get("source"), None if cluster else namespace, errors)
    filters, filter_specs = _filters(spec, source, errors)
    registry = _registry(actions)
    entries = _actions(spec.get("actions"), _context(namespace, source, spec), registry, errors)
    options = _options(spec.get("options"), errors)
    runner = _runner(spec.get("runner"), errors)
    if errors.items or source is None:
        raise SpecErrors(errors.items or [SpecError("spec.source", "is required")])
    return TriggerConfig(
        name=name,
        namespace=namespace,
        generation=generation,
        uid=uid,
        source=source,
        filters=filters,
        filter_specs=filter_specs,
        actions=entries,
        options=options,
        runner=runner,
        kind=CLUSTER_TRIGGER if cluster else "Trigger",
    )


def _metadata(raw: Any, errors: _Errors, default_namespace: str) -> tuple[str, str, int, str]:
    if raw is None:
        errors.add("metadata", "is required", "add metadata: {name: ..., namespace: ...}")
        return "", default_namespace, 0, ""
    meta = _mapping(raw, "metadata", errors)
    name = _str(meta, "name", "metadata", errors, required=True) or ""
    if name and (len(name) > 253 or not _DNS_SUBDOMAIN.fullmatch(name)):
        errors.add(
            "metadata.name",
            f"{name!r} is not a valid name",
            "use lowercase letters, digits, '-' and '.', starting and ending with a letter/digit",
        )
    namespace = _str(meta, "namespace", "metadata", errors) or default_namespace
    if not _DNS_LABEL.fullmatch(namespace):
        errors.add("metadata.namespace", f"{namespace!r} is not a valid namespace name")
    generation = meta.get("generation", 0)
    if isinstance(generation, bool) or not isinstance(generation, int):
        errors.add("metadata.generation", f"must be a whole number, got {type_name(generation)}")
        generation = 0
    uid = meta.get("uid", "")
    if not isinstance(uid, str):
        errors.add("metadata.uid", f"must be a string, got {type_name(uid)}")
        uid = ""
    return name, namespace, generation, uid


# -- source ----------------------------------------------------------------------------------


def _source(raw: Any, namespace: str | None, errors: _Errors) -> Source | None:
    """``namespace``: what an omitted ``namespaces`` means (None: every namespace)."""
    if raw is None:
        errors.add(
            "spec.source",
            "is required",
            "add source: {resource: {apiVersion: v1, kind: ConfigMap}} or source: {cron: {...}}",
        )
        return None
    if not isinstance(raw, Mapping):
        errors.add("spec.source", f"must be a mapping, got {type_name(raw)}")
        return None
    src = _mapping(raw, "spec.source", errors)
    _known(src, "spec.source", _SOURCES, errors)
    present = [key for key in _SOURCES if key in src]
    if len(present) > 1:
        errors.add("spec.source", "has both resource and cron", "a Trigger has exactly one source")
        return None
    if not present:
        if not [key for key in src if key not in _SOURCES]:  # unknown keys are reported already
            errors.add("spec.source", "needs resource or cron", "add exactly one of them")
        return None
    if present[0] == "resource":
        return _resource(src["resource"], namespace, errors)
    return _cron(src["cron"], errors)


def _resource(raw: Any, namespace: str | None, errors: _Errors) -> ResourceSource | None:
    field = "spec.source.resource"
    res = _mapping(raw, field, errors)
    if not res and not isinstance(raw, Mapping):
        return None
    start = len(errors.items)
    _known(res, field, _RESOURCE, errors)
    api_version = _str(res, "apiVersion", field, errors, required=True)
    if api_version and not _API_VERSION.fullmatch(api_version):
        errors.add(
            f"{field}.apiVersion", f"{api_version!r} is not an apiVersion", "e.g. v1 or apps/v1"
        )
    kind = _str(res, "kind", field, errors, required=True)
    if kind and not _KIND.fullmatch(kind):
        errors.add(
            f"{field}.kind", f"{kind!r} is not a kind", "kinds are CamelCase, e.g. ConfigMap"
        )
    namespaces = _namespaces(res, field, namespace, errors)
    label_selector = (
        errors.attempt(parse_label_selector, res["labelSelector"], f"{field}.labelSelector")
        if res.get("labelSelector") is not None
        else None
    )
    field_selector = (
        errors.attempt(parse_field_selector, res["fieldSelector"], f"{field}.fieldSelector")
        if res.get("fieldSelector") is not None
        else None
    )
    events = _events(res, field, errors)
    changed = _changed(res, field, events, errors)
    fire_on_start = _bool(res, "fireOnStart", field, errors, False)
    if len(errors.items) > start or api_version is None or kind is None:
        return None
    return ResourceSource(
        api_version=api_version,
        kind=kind,
        namespaces=namespaces,
        label_selector=label_selector,
        field_selector=field_selector,
        events=events,
        changed=changed,
        fire_on_start=fire_on_start,
    )


def _namespaces(
    res: Mapping[str, Any], field: str, namespace: str | None, errors: _Errors
) -> tuple[str, ...] | None:
    listed = _str_list(res, "namespaces", field, errors)
    if listed is None:
        return None if namespace is None else (namespace,)
    if "*" in listed:
        if len(listed) > 1:
            errors.add(
                f"{field}.namespaces",
                '"*" (all namespaces) cannot be combined with names',
                'write namespaces: ["*"] alone',
            )
        return None
    for i, ns in enumerate(listed):
        if not _DNS_LABEL.fullmatch(ns):
            errors.add(f"{field}.namespaces[{i}]", f"{ns!r} is not a valid namespace name")
    if len(set(listed)) != len(listed):
        errors.add(f"{field}.namespaces", "lists a namespace twice")
    return tuple(listed)


def _events(res: Mapping[str, Any], field: str, errors: _Errors) -> frozenset[str]:
    listed = _str_list(res, "events", field, errors)
    if listed is None:
        return frozenset(EVENT_TYPES)
    for i, event in enumerate(listed):
        if event not in EVENT_TYPES:
            close = difflib.get_close_matches(event.lower(), EVENT_TYPES, n=1)
            fix = f"did you mean {close[0]}?" if close else f"use {', '.join(EVENT_TYPES)}"
            errors.add(f"{field}.events[{i}]", f"unknown event {event!r}", fix)
    return frozenset(listed)


def _changed(
    res: Mapping[str, Any], field: str, events: frozenset[str], errors: _Errors
) -> tuple[JsonPath, ...]:
    listed = _str_list(res, "changed", field, errors)
    if listed is None:
        return ()
    if "update" not in events:
        errors.add(
            f"{field}.changed",
            "only applies to update events, and events does not include update",
            "add update to events, or remove changed",
        )
    paths = [errors.attempt(compile_path, p, f"{field}.changed[{i}]") for i, p in enumerate(listed)]
    return tuple(p for p in paths if p is not None)


def _cron(raw: Any, errors: _Errors) -> CronSource | None:
    field = "spec.source.cron"
    cron = _mapping(raw, field, errors)
    if not cron and not isinstance(raw, Mapping):
        return None
    start = len(errors.items)
    _known(cron, field, _CRON, errors)
    time_zone = _str(cron, "timeZone", field, errors, default=DEFAULT_TIME_ZONE) or "UTC"
    text = _str(cron, "schedule", field, errors, required=True)
    window = _duration(cron, "catchUpWindow", field, errors, 0.0)
    if text is None:
        return None
    schedule = errors.attempt(parse_cron, text, time_zone, f"{field}.schedule", f"{field}.timeZone")
    if schedule is None or len(errors.items) > start:
        return None
    return CronSource(schedule=schedule, time_zone=time_zone, catch_up_window=window)


# -- filters ---------------------------------------------------------------------------------


def _filters(
    spec: Mapping[str, Any], source: Source | None, errors: _Errors
) -> tuple[Predicate | None, tuple[Mapping[str, Any], ...]]:
    raw = spec.get("filters")
    if raw is None:
        return None, ()
    if isinstance(source, CronSource) or (source is None and _is_cron(spec)):
        if raw:
            errors.add(
                "spec.filters",
                "filters need an event object, and a cron source has none",
                "remove filters, or use a resource source",
            )
        return None, ()
    if isinstance(raw, list) and not raw:
        return None, ()
    predicate = errors.attempt(compile_filters, raw, "spec.filters")
    specs = (
        tuple(item for item in raw if isinstance(item, Mapping)) if isinstance(raw, list) else ()
    )
    return predicate, specs


def _is_cron(spec: Mapping[str, Any]) -> bool:
    src = spec.get("source")
    return isinstance(src, Mapping) and "cron" in src and "resource" not in src


# -- actions ---------------------------------------------------------------------------------


def _registry(actions: Mapping[str, ActionKind] | None) -> Mapping[str, ActionKind]:
    if actions is not None:
        return actions
    import runner.actions  # imported here: the registry's modules import this package

    registry: Mapping[str, ActionKind] = runner.actions.ACTIONS  # type: ignore[attr-defined,unused-ignore]
    return registry


def _context(namespace: str, source: Source | None, spec: Mapping[str, Any]) -> ParseContext:
    """What actions may know about the trigger; best effort when the source itself is bad."""
    if isinstance(source, ResourceSource):
        return ParseContext(namespace, source.api_version, source.kind, source.namespaces)
    if isinstance(source, CronSource) or _is_cron(spec):
        return ParseContext(namespace, None, None, None)
    src = spec.get("source")
    res: Mapping[str, Any] = src if isinstance(src, Mapping) else {}
    raw: Mapping[str, Any] = res["resource"] if isinstance(res.get("resource"), Mapping) else {}
    api_version = raw.get("apiVersion") if isinstance(raw.get("apiVersion"), str) else None
    kind = raw.get("kind") if isinstance(raw.get("kind"), str) else None
    return ParseContext(namespace, api_version, kind, (namespace,))


def _actions(
    raw: Any, ctx: ParseContext, registry: Mapping[str, ActionKind], errors: _Errors
) -> tuple[ActionEntry, ...]:
    if raw is None:
        errors.add(
            "spec.actions", "is required", "add at least one action, e.g. - log: {message: hi}"
        )
        return ()
    if not isinstance(raw, list):
        errors.add("spec.actions", f"must be a list of actions, got {type_name(raw)}")
        return ()
    if not raw:
        errors.add("spec.actions", "must list at least one action")
        return ()
    parsed: list[tuple[str | None, str, Any, str]] = []
    for i, item in enumerate(raw):
        found = _action(item, i, ctx, registry, errors)
        if found is not None:
            parsed.append(found)
    keys = [key for _, key, _, _ in parsed]
    entries: list[ActionEntry] = []
    seen: set[str] = set()
    for given, key, config, field in parsed:
        name = given or (
            key if keys.count(key) == 1 else f"{key}-{field[len('spec.actions[') : -1]}"
        )
        if name in seen:
            errors.add(
                f"{field}.name", f"duplicate action name {name!r}", "give each action its own name"
            )
        seen.add(name)
        entries.append(ActionEntry(name=name, kind=key, config=config, field=field))
    return tuple(entries)


def _action(
    item: Any, i: int, ctx: ParseContext, registry: Mapping[str, ActionKind], errors: _Errors
) -> tuple[str | None, str, Any, str] | None:
    field = f"spec.actions[{i}]"
    if not isinstance(item, Mapping):
        errors.add(field, f"must be a mapping with one action key, got {type_name(item)}")
        return None
    if "use" in item:
        errors.add(
            f"{field}.use",
            "a TriggerTemplate reference must be expanded before the spec is parsed",
            _USE_FIX,
        )
        return None
    name = _str(item, "name", field, errors)
    if name is not None and not _ACTION_NAME.fullmatch(name):
        errors.add(
            f"{field}.name",
            f"{name!r} is not a valid action name",
            "use letters, digits, '-', '_' and '.'",
        )
    keys = [key for key in item if key != "name"]
    known = sorted(registry)
    if not keys:
        errors.add(field, "has no action", f"add one of: {', '.join(known)}")
        return None
    unknown = [key for key in keys if key not in registry]
    for key in unknown:
        close = difflib.get_close_matches(str(key), known, n=1)
        hint = f"did you mean {close[0]}? " if close else ""
        errors.add(f"{field}.{key}", "unknown action", f"{hint}valid actions: {', '.join(known)}")
    if unknown:
        return None
    if len(keys) > 1:
        errors.add(
            field,
            f"has several action keys ({', '.join(keys)})",
            "put each action in its own list item",
        )
        return None
    key = keys[0]
    value = item[key]
    if not isinstance(value, Mapping):
        errors.add(f"{field}.{key}", f"must be a mapping, got {type_name(value)}")
        return None
    config = errors.attempt(registry[key].parse, value, f"{field}.{key}", ctx)
    if config is None:
        return None
    return name, key, config, field


# -- options and runner ----------------------------------------------------------------------


def _options(raw: Any, errors: _Errors) -> Options:
    if raw is None:
        return Options()
    field = "spec.options"
    opts = _mapping(raw, field, errors)
    _known(opts, field, _OPTIONS, errors)
    defaults = Options()
    rate = _mapping(opts.get("rateLimit", {}), f"{field}.rateLimit", errors)
    _known(rate, f"{field}.rateLimit", _RATE, errors)
    retry = _mapping(opts.get("retry", {}), f"{field}.retry", errors)
    _known(retry, f"{field}.retry", _RETRY, errors)
    initial = _duration(retry, "initialDelay", f"{field}.retry", errors, defaults.retry_initial)
    maximum = _duration(retry, "maxDelay", f"{field}.retry", errors, defaults.retry_max)
    if initial <= 0:
        errors.add(f"{field}.retry.initialDelay", "must be more than 0s", "e.g. 1s")
    if maximum < initial:
        errors.add(f"{field}.retry.maxDelay", "must not be shorter than initialDelay")
    return Options(
        rate_per_second=_number(
            rate, "perSecond", f"{field}.rateLimit", errors, defaults.rate_per_second, 0
        ),
        burst=_int(rate, "burst", f"{field}.rateLimit", errors, defaults.burst, 1, 100_000),
        retry_attempts=_int(
            retry, "attempts", f"{field}.retry", errors, defaults.retry_attempts, 1, 100
        ),
        retry_initial=initial,
        retry_max=maximum,
        workers=_int(opts, "workers", field, errors, defaults.workers, 1, 64),
        queue_size=_int(opts, "queueSize", field, errors, defaults.queue_size, 1, 1_000_000),
    )


def _runner(raw: Any, errors: _Errors) -> RunnerOptions:
    if raw is None:
        return RunnerOptions()
    field = "spec.runner"
    opts = _mapping(raw, field, errors)
    _known(opts, field, _RUNNER, errors)
    image = _str(opts, "image", field, errors)
    if image is not None and any(ch.isspace() for ch in image):
        errors.add(f"{field}.image", f"{image!r} is not an image reference")
    resources: Mapping[str, Any] | None = None
    if opts.get("resources") is not None:
        resources = _resources(opts["resources"], f"{field}.resources", errors)
    return RunnerOptions(image=image, resources=resources)


def _resources(raw: Any, field: str, errors: _Errors) -> dict[str, Any]:
    res = _mapping(raw, field, errors)
    _known(res, field, _RESOURCES, errors)
    out: dict[str, Any] = {}
    for part in _RESOURCES:
        if res.get(part) is None:
            continue
        amounts = _mapping(res[part], f"{field}.{part}", errors)
        for name, amount in amounts.items():
            path = f"{field}.{part}.{name}"
            if isinstance(amount, float):  # the CRD stores quantities as int-or-string
                errors.add(
                    path, f"{amount} is not a whole number", f'write it as a string: "{amount}"'
                )
                continue
            if isinstance(amount, bool) or not isinstance(amount, (str, int)):
                errors.add(path, f"must be a quantity like 64Mi or 100m, got {type_name(amount)}")
                continue
            value = errors.attempt(parse_quantity, amount, path)
            if value is not None and value < 0:
                errors.add(path, f"must not be negative, got {amount}")
        out[part] = dict(amounts)
    return out
