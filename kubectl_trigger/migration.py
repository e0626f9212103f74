"""Namespaced Triggers made by older versions that reach other namespaces: how to move them.

Such a Trigger no longer runs (its runner reports ``Ready=False`` with reason
``OutsideNamespace``) and ``apply`` refuses it; ``get`` and ``describe`` point
to the move. The check here is cheap (no parsing), for ``get``'s speed: the
runner's reason, or a source whose ``namespaces`` leave the Trigger's own.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from runner.conditions import OUTSIDE_NAMESPACE, READY

#: the Ready reason the runner reports
REASON = OUTSIDE_NAMESPACE


def how_to_move(name: str, namespace: str) -> str:
    """The steps, for messages."""
    return (
        f"move it to a ClusterTrigger: in its file write kind: ClusterTrigger and drop "
        f"metadata.namespace, run kubectl trigger create -f FILE (as a cluster admin), then "
        f"kubectl trigger delete {name} -n {namespace} (docs/spec.md#security-model)"
    )


def reaches_outside(trigger: Mapping[str, Any]) -> bool:
    """Whether a namespaced Trigger is known to need rights outside its namespace."""
    if trigger.get("kind", "Trigger") != "Trigger":
        return False
    for cond in (trigger.get("status") or {}).get("conditions") or []:
        if cond.get("type") == READY and cond.get("reason") == REASON:
            return True
    meta = trigger.get("metadata") or {}
    source = ((trigger.get("spec") or {}).get("source") or {}).get("resource") or {}
    listed = source.get("namespaces") or []
    return isinstance(listed, list) and any(ns != meta.get("namespace") for ns in listed)
