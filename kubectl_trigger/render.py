"""Render the objects one Trigger needs: ServiceAccount, RBAC, runner Deployment.

Pure functions over plain dicts, so ``render``/``--dry-run=client`` need no
cluster and unit tests check exact output. The Trigger's uid, known only once
it exists, is passed in for owner references (``None``: no owner references,
as in an offline render).

Cluster-scoped objects (ClusterRole/Binding) and objects in other namespaces
cannot be owned by a namespaced Trigger (the garbage collector would treat the
owner as missing and delete them), so they carry only labels and ``delete``
removes them explicitly.
"""

from __future__ import annotations

import copy
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from kubectl_trigger import naming
from kubectl_trigger.rbac import CLUSTER, Rule
from runner import API_VERSION, DEFAULT_IMAGE

Obj = dict[str, Any]

RBAC_API = "rbac.authorization.k8s.io/v1"
LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"
RUNNER_UID = 65532
HEALTH_PORT = 8080
DEFAULT_RESOURCES: dict[str, dict[str, str]] = {
    "requests": {"cpu": "10m", "memory": "48Mi"},
    "limits": {"memory": "64Mi"},
}

#: Server-set or per-instance fields dropped from a Trigger read back from a file.
SERVER_METADATA = (
    "uid",
    "resourceVersion",
    "generation",
    "creationTimestamp",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
    "managedFields",
    "selfLink",
    "ownerReferences",
)


@dataclass(frozen=True)
class Owner:
    """The Trigger that owns derived objects in its namespace."""

    name: str
    uid: str

    def reference(self) -> Obj:
        """The ownerReference derived objects carry."""
        return {
            "apiVersion": API_VERSION,
            "kind": "Trigger",
            "name": self.name,
            "uid": self.uid,
            "controller": True,
            "blockOwnerDeletion": True,
        }


@dataclass(frozen=True)
class RenderInput:
    """Everything rendering one Trigger needs, already validated."""

    name: str
    namespace: str
    spec: Mapping[str, Any]  # the expanded spec the runner runs
    rules: Mapping[str | None, list[Rule]]  # from rbac.plan_rules
    image: str | None = None  # --image; wins over spec.runner.image
    owner: Owner | None = None
    extra_labels: Mapping[str, str] = field(default_factory=dict)


def canonical_json(value: Any) -> str:
    """JSON with sorted keys and no spaces: equal values give equal text."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def runner_image(spec: Mapping[str, Any], override: str | None = None) -> str:
    """--image, else spec.runner.image, else the default runner image."""
    runner = spec.get("runner") or {}
    return override or str(runner.get("image") or DEFAULT_IMAGE)


def spec_hash(spec: Mapping[str, Any], image: str) -> str:
    """sha256 of the canonical JSON of the expanded spec and the image."""
    return hashlib.sha256(canonical_json({"spec": spec, "image": image}).encode()).hexdigest()


def resources(spec: Mapping[str, Any]) -> dict[str, dict[str, str]]:
    """Defaults, overridden key by key by spec.runner.resources."""
    given = (spec.get("runner") or {}).get("resources") or {}
    out = copy.deepcopy(DEFAULT_RESOURCES)
    for section in ("requests", "limits"):
        out.setdefault(section, {}).update(
            {k: str(v) for k, v in (given.get(section) or {}).items()}
        )
    return {k: v for k, v in out.items() if v}


def _meta(inp: RenderInput, name: str, namespace: str | None) -> Obj:
    meta: Obj = {"name": name}
    if namespace is not None:
        meta["namespace"] = namespace
    meta["labels"] = {**inp.extra_labels, **naming.labels(inp.namespace, inp.name)}
    if inp.owner is not None and namespace == inp.namespace:
        meta["ownerReferences"] = [inp.owner.reference()]
    return meta


def service_account(inp: RenderInput) -> Obj:
    """The runner's ServiceAccount."""
    return {
        "apiVersion": "v1",
        "kind": "ServiceAccount",
        "metadata": _meta(inp, naming.derived_name(inp.name), inp.namespace),
    }


def _subject(inp: RenderInput) -> Obj:
    return {
        "kind": "ServiceAccount",
        "name": naming.derived_name(inp.name),
        "namespace": inp.namespace,
    }


def rbac_objects(inp: RenderInput) -> list[Obj]:
    """A Role + RoleBinding per namespace, a ClusterRole + binding for cluster-wide rules."""
    out: list[Obj] = []
    for scope, rules in inp.rules.items():
        if not rules:
            continue
        if scope is CLUSTER:
            kind, name, ns = "ClusterRole", naming.cluster_name(inp.namespace, inp.name), None
        elif scope == inp.namespace:
            kind, name, ns = "Role", naming.derived_name(inp.name), scope
        else:
            kind, name, ns = "Role", naming.cluster_name(inp.namespace, inp.name), scope
        out.append(
            {
                "apiVersion": RBAC_API,
                "kind": kind,
                "metadata": _meta(inp, name, ns),
                "rules": [r.to_dict() for r in rules],
            }
        )
        out.append(
            {
                "apiVersion": RBAC_API,
                "kind": f"{kind}Binding",
                "metadata": _meta(inp, name, ns),
                "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": kind, "name": name},
                "subjects": [_subject(inp)],
            }
        )
    return out


def _security_context() -> Obj:
    return {
        "allowPrivilegeEscalation": False,
        "readOnlyRootFilesystem": True,
        "runAsNonRoot": True,
        "runAsUser": RUNNER_UID,
        "runAsGroup": RUNNER_UID,
        "capabilities": {"drop": ["ALL"]},
        "seccompProfile": {"type": "RuntimeDefault"},
    }


def _probe(path: str, period: int) -> Obj:
    return {
        "httpGet": {"path": path, "port": "http"},
        "periodSeconds": period,
        "timeoutSeconds": 2,
        "failureThreshold": 3,
    }


def deployment(inp: RenderInput) -> Obj:
    """The runner: one replica, Recreate, restricted pod security, spec hash on the template."""
    image = runner_image(inp.spec, inp.image)
    name = naming.derived_name(inp.name)
    env = [
        {"name": "TRIGGER_NAME", "value": inp.name},
        {
            "name": "TRIGGER_NAMESPACE",
            "valueFrom": {"fieldRef": {"fieldPath": "metadata.namespace"}},
        },
        {"name": "LOG_FORMAT", "value": "json"},
        {"name": "RUNNER_METRICS_ADDRESS", "value": f"0.0.0.0:{HEALTH_PORT}"},
        {"name": "PYTHONDONTWRITEBYTECODE", "value": "1"},
    ]
    container: Obj = {
        "name": naming.CONTAINER_NAME,
        "image": image,
        "imagePullPolicy": "IfNotPresent",
        "command": ["python", "-m", "runner"],
        "env": env,
        "ports": [{"name": "http", "containerPort": HEALTH_PORT, "protocol": "TCP"}],
        "resources": resources(inp.spec),
        "securityContext": _security_context(),
        "livenessProbe": _probe("/healthz", 10),
        "readinessProbe": _probe("/readyz", 5),
        "volumeMounts": [{"name": "tmp", "mountPath": "/tmp"}],
    }
    labels = {**inp.extra_labels, **naming.labels(inp.namespace, inp.name)}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": _meta(inp, name, inp.namespace),
        "spec": {
            "replicas": 1,
            "revisionHistoryLimit": 2,
            "strategy": {"type": "Recreate"},
            "selector": {"matchLabels": naming.pod_selector(inp.namespace, inp.name)},
            "template": {
                "metadata": {
                    "labels": labels,
                    "annotations": {naming.ANNOTATION_SPEC_HASH: spec_hash(inp.spec, image)},
                },
                "spec": {
                    "serviceAccountName": name,
                    "automountServiceAccountToken": True,
                    "enableServiceLinks": False,
                    "terminationGracePeriodSeconds": 10,
                    "securityContext": {
                        "runAsNonRoot": True,
                        "runAsUser": RUNNER_UID,
                        "runAsGroup": RUNNER_UID,
                        "seccompProfile": {"type": "RuntimeDefault"},
                    },
                    "containers": [container],
                    "volumes": [{"name": "tmp", "emptyDir": {"sizeLimit": "16Mi"}}],
                },
            },
        },
    }


def derived_objects(inp: RenderInput) -> list[Obj]:
    """Every derived object, in write order (the Deployment last, once its RBAC exists)."""
    return [service_account(inp), *rbac_objects(inp), deployment(inp)]


# --- the Trigger object itself ------------------------------------------------------------


def source_summary(spec: Mapping[str, Any]) -> str:
    """The SOURCE column: ``ConfigMap``, ``ConfigMap (all namespaces)``, ``cron 0 2 * * *``."""
    src = spec.get("source") or {}
    if "cron" in src:
        return f"cron {(src.get('cron') or {}).get('schedule', '')}".strip()
    res = src.get("resource") or {}
    kind = str(res.get("kind", ""))
    namespaces = res.get("namespaces") or []
    if "*" in namespaces:
        return f"{kind} (all namespaces)"
    if len(namespaces) > 1:
        return f"{kind} ({len(namespaces)} namespaces)"
    return kind


def action_summary(spec: Mapping[str, Any]) -> str:
    """The ACTIONS column: the action kinds, in order."""
    kinds = []
    for action in spec.get("actions") or []:
        if isinstance(action, Mapping):
            kinds += [k for k in action if k != "name"][:1]
    return ",".join(kinds)


def trigger_object(user: Mapping[str, Any], namespace: str, expanded: Mapping[str, Any]) -> Obj:
    """The Trigger to write: the user's spec as written, plus the plugin's annotations.

    The expanded spec goes in an annotation only when TriggerTemplate ``use``
    entries changed it; the runner prefers that annotation when present.
    """
    meta_in = user.get("metadata") or {}
    meta: Obj = {k: copy.deepcopy(v) for k, v in meta_in.items() if k not in SERVER_METADATA}
    meta["namespace"] = namespace
    annotations = {
        k: v
        for k, v in (meta.get("annotations") or {}).items()
        if k
        not in (naming.ANNOTATION_EXPANDED_SPEC, "kubectl.kubernetes.io/last-applied-configuration")
    }
    spec = copy.deepcopy(dict(user.get("spec") or {}))
    annotations[naming.ANNOTATION_SOURCE] = source_summary(expanded)
    annotations[naming.ANNOTATION_ACTIONS] = action_summary(expanded)
    if canonical_json(expanded) != canonical_json(spec):
        annotations[naming.ANNOTATION_EXPANDED_SPEC] = canonical_json(expanded)
    meta["annotations"] = annotations
    return {"apiVersion": API_VERSION, "kind": "Trigger", "metadata": meta, "spec": spec}
