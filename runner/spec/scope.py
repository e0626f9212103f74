"""Whether a namespaced Trigger stays in its own namespace, and which field reaches out.

A namespaced Trigger's runner holds rights only in the Trigger's namespace, so
whoever may edit Triggers (or mint tokens, or run pods) there gains nothing
beyond what they already hold. A spec that reaches further is a ClusterTrigger.
The check works on the permissions the spec needs (``runner.spec.rbac``), the
same list the RBAC is rendered from, so what is refused is exactly what would
need a right outside the namespace; the errors name the field responsible.

The plugin runs it before writing anything, and the runner before running a
Trigger made by an older plugin version.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any

from runner.actions.base import ParseContext
from runner.permissions import Permission
from runner.spec.errors import SpecError
from runner.spec.model import ResourceSource, TriggerConfig

#: (apiVersion, kind) -> whether the kind is namespaced (discovery, or a table offline)
Namespaced = Callable[[str, str], bool]

FIX = (
    "a Trigger watches and acts only in its own namespace; "
    "for more, write kind: ClusterTrigger (cluster admins, see docs/spec.md#security-model)"
)


def reach_errors(
    config: TriggerConfig,
    spec: Mapping[str, Any],
    namespaced: Namespaced,
    actions: Mapping[str, Any] | None = None,
) -> list[SpecError]:
    """Every field of a namespaced Trigger's ``spec`` that reaches outside its namespace.

    ``spec`` is the expanded spec ``config`` was parsed from; ``actions`` the
    action registry (None: the real one). A ClusterTrigger has no limit: [].
    """
    if config.cluster_scoped:
        return []
    own = config.namespace
    errors = list(_source_errors(config, namespaced))
    registry = _registry(actions)
    # actions judged as if the source stayed home: a wide source is reported once, above
    src = config.source
    home_ctx = ParseContext(
        own,
        src.api_version if isinstance(src, ResourceSource) else None,
        src.kind if isinstance(src, ResourceSource) else None,
        (own,) if isinstance(src, ResourceSource) else None,
    )
    given = spec.get("actions")
    raw_actions: list[Any] = given if isinstance(given, list) else []
    for i, entry in enumerate(config.actions):
        raw = raw_actions[i] if i < len(raw_actions) else {}
        body = raw.get(entry.kind) if isinstance(raw, Mapping) else None
        base = f"{entry.field}.{entry.kind}"
        seen: set[str] = set()
        for perm in registry[entry.kind].permissions(entry.config, home_ctx):
            error = _action_error(perm, own, base, body, namespaced)
            if error is not None and error.path not in seen:
                seen.add(error.path)
                errors.append(error)
    return errors


def _source_errors(config: TriggerConfig, namespaced: Namespaced) -> Iterator[SpecError]:
    src = config.source
    if not isinstance(src, ResourceSource):
        return
    field = "spec.source.resource"
    if not namespaced(src.api_version, src.kind):
        yield SpecError(
            f"{field}.kind",
            f"{src.kind} is cluster-scoped, outside namespace {config.namespace}",
            FIX,
        )
        return
    if src.namespaces is None:
        yield SpecError(
            f"{field}.namespaces",
            f'"*" watches every namespace, not only {config.namespace}',
            FIX,
        )
        return
    for i, ns in enumerate(src.namespaces):
        if ns != config.namespace:
            yield SpecError(
                f"{field}.namespaces[{i}]",
                f"{ns!r} is another namespace than the Trigger's ({config.namespace})",
                FIX,
            )


def _action_error(
    perm: Permission, own: str, base: str, body: Any, namespaced: Namespaced
) -> SpecError | None:
    kind = perm.kind.split("/")[0]
    if not namespaced(perm.api_version, kind):
        where = _find_kind(body, kind, base) or base
        return SpecError(where, f"acts on {kind}, which is cluster-scoped", FIX)
    if perm.namespace == own:
        return None
    where = _find_namespace(body, own, base) or base
    if perm.namespace is None:
        return SpecError(
            where, "a templated namespace may name any namespace, not only " + own, FIX
        )
    return SpecError(where, f"acts in namespace {perm.namespace!r}, not the Trigger's ({own})", FIX)


def _walk(value: Any, path: str) -> Iterator[tuple[str, Any, Any]]:
    """(path, key, value) of every mapping entry under ``value``."""
    if isinstance(value, Mapping):
        for key, item in value.items():
            sub = f"{path}.{key}"
            yield sub, key, item
            yield from _walk(item, sub)
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from _walk(item, f"{path}[{i}]")


def _find_namespace(body: Any, own: str, base: str) -> str | None:
    """The path of the first ``namespace`` key whose value is not ``own``."""
    for path, key, value in _walk(body, base):
        if key == "namespace" and value != own:
            return path
    return None


def _find_kind(body: Any, kind: str, base: str) -> str | None:
    """The path of the first ``kind: <kind>`` under ``body``."""
    for path, key, value in _walk(body, base):
        if key == "kind" and value == kind:
            return path
    return None


def _registry(actions: Mapping[str, Any] | None) -> Mapping[str, Any]:
    if actions is not None:
        return actions
    import runner.actions

    registry: Mapping[str, Any] = runner.actions.ACTIONS  # type: ignore[attr-defined,unused-ignore]
    return registry


def wide_writes(
    config: TriggerConfig, namespaced: Namespaced, permissions: list[Permission]
) -> list[str]:
    """A ClusterTrigger's write rights in every namespace or on cluster-scoped kinds."""
    writes = {"create", "update", "patch", "delete", "deletecollection"}
    out: list[str] = []
    for p in permissions:
        verbs = sorted(p.verbs & writes)
        if not verbs:
            continue
        kind = p.kind.split("/")[0]
        if kind == config.kind and p.names == (config.name,):
            continue  # its own status
        if not namespaced(p.api_version, kind):
            where = "cluster-scoped"
        elif p.namespace is None:
            where = "in every namespace"
        else:
            continue
        names = f" named {', '.join(p.names)}" if p.names else ""
        out.append(f"{','.join(verbs)} {p.kind} ({p.api_version}){names}, {where}")
    return out
