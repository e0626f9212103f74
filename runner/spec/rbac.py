"""What a parsed Trigger needs to be allowed to do, stated by kind (least privilege).

The plugin turns this list into a Role or ClusterRole; the runner's
ServiceAccount gets nothing else. Each part states its own needs: the source
watches its kind, each action declares its permissions through the registry,
and every runner reads its own Trigger, writes its status and emits Events.
Duplicates are merged so the rendered rules stay short and reviewable.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from runner import API_VERSION
from runner.actions.base import ActionKind, ParseContext
from runner.permissions import Permission
from runner.spec.model import CronSource, ResourceSource, TriggerConfig

WATCH_VERBS = frozenset({"get", "list", "watch"})
STATUS_VERBS = frozenset({"get", "patch", "update"})
EVENT_VERBS = frozenset({"create", "patch"})


def parse_context(cfg: TriggerConfig) -> ParseContext:
    """The ParseContext actions were parsed with (rebuilt from the config)."""
    src = cfg.source
    if isinstance(src, ResourceSource):
        return ParseContext(cfg.namespace, src.api_version, src.kind, src.namespaces)
    return ParseContext(cfg.namespace, None, None, None)


def required_permissions(
    cfg: TriggerConfig, actions: Mapping[str, ActionKind] | None = None
) -> list[Permission]:
    """Every permission ``cfg`` needs, merged and sorted (``actions``: None = the real registry)."""
    wanted: list[Permission] = []
    src = cfg.source
    if isinstance(src, ResourceSource):
        if src.namespaces is None:
            wanted.append(Permission(src.api_version, src.kind, WATCH_VERBS, None))
        else:
            wanted += [
                Permission(src.api_version, src.kind, WATCH_VERBS, ns) for ns in src.namespaces
            ]
    elif not isinstance(src, CronSource):  # pragma: no cover - the model has two source kinds
        raise TypeError(f"unknown source {type(src).__name__}")
    registry = _registry(actions)
    ctx = parse_context(cfg)
    for entry in cfg.actions:
        wanted += registry[entry.kind].permissions(entry.config, ctx)
    wanted += own_permissions(cfg.kind, None if cfg.cluster_scoped else cfg.namespace, cfg.name)
    return merge_permissions(wanted)


def own_permissions(kind: str, namespace: str | None, name: str) -> list[Permission]:
    """What every runner needs on its own Trigger (``namespace`` None: a ClusterTrigger):
    read it, write its status, and record Events about it."""
    from runner.k8s_events import CLUSTER_EVENTS

    return [
        Permission(API_VERSION, kind, frozenset({"get"}), namespace, (name,)),
        Permission(API_VERSION, f"{kind}/status", STATUS_VERBS, namespace, (name,)),
        # its Events: in its namespace; a ClusterTrigger's where the API server takes them
        # (the runner raises the count of an Event it created by patching it)
        Permission("v1", "Event", EVENT_VERBS, CLUSTER_EVENTS if namespace is None else namespace),
    ]


def _registry(actions: Mapping[str, ActionKind] | None) -> Mapping[str, ActionKind]:
    if actions is not None:
        return actions
    import runner.actions

    registry: Mapping[str, ActionKind] = runner.actions.ACTIONS  # type: ignore[attr-defined,unused-ignore]
    return registry


def merge_permissions(perms: Iterable[Permission]) -> list[Permission]:
    """Merge duplicates and drop verbs a broader permission already grants; sorted.

    Same kind, namespace and names: verbs are united. Same kind, namespace and
    verbs: names are united. Verbs granted by a broader permission (any name,
    or every namespace) are dropped, and so is a permission left with none.
    """
    by_target: dict[tuple[str, str, str | None, tuple[str, ...]], set[str]] = {}
    for p in perms:
        by_target.setdefault(
            (p.api_version, p.kind, p.namespace, tuple(sorted(set(p.names)))), set()
        ).update(p.verbs)
    by_verbs: dict[tuple[str, str, str | None, frozenset[str]], set[str]] = {}
    unnamed: list[tuple[tuple[str, str, str | None], frozenset[str]]] = []
    for (api, kind, ns, names), verbs in by_target.items():
        frozen = frozenset(verbs)
        if names:
            by_verbs.setdefault((api, kind, ns, frozen), set()).update(names)
        else:
            unnamed.append(((api, kind, ns), frozen))
    merged = [Permission(api, kind, verbs, ns) for (api, kind, ns), verbs in unnamed]
    merged += [
        Permission(api, kind, verbs, ns, tuple(sorted(names)))
        for (api, kind, ns, verbs), names in by_verbs.items()
    ]
    kept: list[Permission] = []
    for p in merged:
        granted = {verb for q in merged if _broader(q, p) for verb in q.verbs}
        rest = p.verbs - granted
        if rest:
            kept.append(Permission(p.api_version, p.kind, frozenset(rest), p.namespace, p.names))
    return sorted(
        kept, key=lambda p: (p.api_version, p.kind, p.namespace or "", p.names, sorted(p.verbs))
    )


def _broader(big: Permission, small: Permission) -> bool:
    """Whether ``big`` applies to everything ``small`` applies to, and to more."""
    if (big.api_version, big.kind) != (small.api_version, small.kind):
        return False
    if big.namespace is not None and big.namespace != small.namespace:
        return False
    if big.names and (not small.names or not set(small.names) <= set(big.names)):
        return False
    return (big.namespace, big.names) != (small.namespace, small.names)
