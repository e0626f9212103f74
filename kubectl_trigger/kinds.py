"""Naming Triggers and ClusterTriggers on the command line, the way kubectl names objects.

``NAME`` is a Trigger in the current namespace (the common case, as before);
``TYPE`` alone selects a kind (``triggers``, ``clustertriggers``, short names
and ``kind.group`` spellings); ``TYPE NAME...`` and ``TYPE/NAME`` name objects
of that kind. Commands call ``select`` once and get typed references.
"""

from __future__ import annotations

from dataclasses import dataclass

from kubectl_trigger.errors import BadInput
from kubectl_trigger.naming import CLUSTER_TRIGGER, TRIGGER, Ref

__all__ = ["BOTH", "CLUSTER_TRIGGER", "TRIGGER", "TYPES", "Ref", "Selection", "ref", "select"]
from runner import API_GROUP

#: every spelling kubectl accepts for a resource type -> the kind
TYPES: dict[str, str] = {
    spelling: kind
    for kind, plural, short in (
        (TRIGGER, "triggers", "trg"),
        (CLUSTER_TRIGGER, "clustertriggers", "ctrg"),
    )
    for spelling in (
        kind.lower(),
        plural,
        short,
        f"{kind.lower()}.{API_GROUP}",
        f"{plural}.{API_GROUP}",
    )
}
BOTH = (TRIGGER, CLUSTER_TRIGGER)


@dataclass(frozen=True)
class Selection:
    """What the arguments named: kinds to list (``refs`` empty), or objects."""

    kinds: tuple[str, ...]
    refs: tuple[Ref, ...]
    explicit: bool  # a type was written: a kind not served is an error, not skipped


def ref(kind: str, name: str, namespace: str) -> Ref:
    """The reference for ``name`` of ``kind`` (``namespace`` ignored for ClusterTriggers)."""
    return Ref.cluster(name) if kind == CLUSTER_TRIGGER else Ref.trigger(namespace, name)


def select(args: list[str] | None, namespace: str, *, default: tuple[str, ...] = BOTH) -> Selection:
    """Parse positional arguments; no arguments select ``default`` kinds."""
    args = list(args or [])
    if not args:
        return Selection(default, (), False)
    first = args[0].lower()
    if "/" not in first and first in TYPES:
        kind = TYPES[first]
        return Selection((kind,), tuple(ref(kind, n, namespace) for n in args[1:]), True)
    refs: list[Ref] = []
    for arg in args:
        type_, slash, name = arg.rpartition("/")
        if not slash:
            refs.append(Ref.trigger(namespace, arg))
            continue
        named = TYPES.get(type_.lower())
        if named is None or not name:
            raise BadInput(
                f"{arg!r}: not a trigger; write NAME, trigger/NAME or clustertrigger/NAME"
            )
        refs.append(ref(named, name, namespace))
    return Selection(tuple(dict.fromkeys(r.kind for r in refs)), tuple(refs), True)
