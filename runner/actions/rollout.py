"""The ``rolloutRestart`` action: restart Deployments, StatefulSets or DaemonSets.

It does what ``kubectl rollout restart`` does: set the pod-template annotation
``kubectl.kubernetes.io/restartedAt`` to the current time (RFC 3339), which
changes the template and so rolls the pods. ``consumers: true`` restarts the
workloads whose pod template references the event's ConfigMap or Secret.
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from runner.actions import consumers, fields
from runner.actions.base import ActionContext, ActionKind, ParseContext
from runner.actions.workloads import (
    SELECTION_KEYS,
    Selection,
    parse_selection,
    patch_workloads,
    select_workloads,
    selection_permissions,
    summary,
)
from runner.event import Event
from runner.permissions import Permission
from runner.spec.errors import SpecError

RESTARTED_AT = "kubectl.kubernetes.io/restartedAt"
WORKLOAD_KINDS = ("Deployment", "StatefulSet", "DaemonSet")
API_VERSION = "apps/v1"


@dataclass(frozen=True)
class RolloutRestartConfig:
    """Which workloads of one kind to restart; ``source_kind`` is what consumers reference."""

    selection: Selection
    source_kind: str | None = None


def parse(raw: Mapping[str, Any], field: str, ctx: ParseContext) -> RolloutRestartConfig:
    """Check ``kind`` and exactly one of ``name``, ``selector``, ``consumers``."""
    spec = fields.mapping(raw, field)
    fields.check_keys(spec, field, ("kind", *SELECTION_KEYS))
    if spec.get("kind") is None:
        raise SpecError(f"{field}.kind", "is required", f"use one of {', '.join(WORKLOAD_KINDS)}")
    kind = fields.choice(spec, "kind", field, WORKLOAD_KINDS, default="Deployment")
    selection = parse_selection(spec, field, ctx, API_VERSION, kind, consumers.KINDS)
    return RolloutRestartConfig(selection, ctx.source_kind if selection.consumers else None)


def permissions(config: RolloutRestartConfig, ctx: ParseContext) -> list[Permission]:
    """``get`` and ``patch`` on the workload kind, plus ``list`` by selector or for consumers."""
    return selection_permissions(config.selection, ctx)


def uses(workload: Mapping[str, Any], kind: str, name: str) -> bool:
    """Whether ``workload``'s pod template references the ConfigMap or Secret ``name``."""
    pod_spec = ((workload.get("spec") or {}).get("template") or {}).get("spec") or {}
    return consumers.references(pod_spec, kind, name)


def restart_patch(now: datetime.datetime) -> dict[str, Any]:
    """The patch ``kubectl rollout restart`` sends, for time ``now``."""
    stamp = now.astimezone(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return {"spec": {"template": {"metadata": {"annotations": {RESTARTED_AT: stamp}}}}}


def run(config: RolloutRestartConfig, event: Event, ctx: ActionContext) -> str:
    """Patch ``restartedAt`` on each chosen workload."""
    kind = config.source_kind or ""

    def consumes(workload: Mapping[str, Any], obj: Mapping[str, Any]) -> bool:
        name = (obj.get("metadata") or {}).get("name")
        return bool(name) and uses(workload, kind, str(name))

    refs = select_workloads(config.selection, event, ctx, consumes)
    body = restart_patch(datetime.datetime.now(datetime.UTC))
    patch_workloads(ctx, refs, body, "strategic", "restarting")
    return summary("restarted", config.selection, refs, event)


KIND = ActionKind(key="rolloutRestart", parse=parse, permissions=permissions, run=run)
