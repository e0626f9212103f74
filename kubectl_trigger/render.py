"""Render the objects one trigger needs: ServiceAccount, RBAC, runner Deployment.

Pure functions over plain dicts, so ``render``/``--dry-run=client`` need no
cluster and unit tests check exact output. The owner's uid, known only once it
exists, is passed in for owner references (``None``: no owner references, as in
an offline render).

A namespaced Trigger's objects all live in its namespace (``prepare`` refuses a
spec that needs rights elsewhere), each owned by it. A ClusterTrigger's runner,
ServiceAccount and Roles for its home live in the controlled namespace; its
ClusterRole/Binding and the Roles/RoleBindings in the namespaces it watches are
owned by it too (a cluster-scoped owner may own namespaced objects), so deleting
it, even with plain kubectl, lets the garbage collector remove everything.

The runner Deployment's pod template carries the expanded spec itself
(``runner.rendered``): what the runner runs is what was rendered here, with the
rights of whoever rendered it, never a later edit of the Trigger object.
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
from runner import API_VERSION, DEFAULT_IMAGE, rendered

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
    """The Trigger or ClusterTrigger that owns every derived object."""

    name: str
    uid: str
    kind: str = naming.TRIGGER

    def reference(self) -> Obj:
        """The ownerReference derived objects carry."""
        return {
            "apiVersion": API_VERSION,
            "kind": self.kind,
            "name": self.name,
            "uid": self.uid,
            "controller": True,
            "blockOwnerDeletion": True,
        }


@dataclass(frozen=True)
class RenderInput:
    """Everything rendering one trigger needs, already validated."""

    ref: naming.Ref
    home: str  # the namespace of the runner, its ServiceAccount and Secrets
    spec: Mapping[str, Any]  # the expanded spec the runner runs
    rules: Mapping[str | None, list[Rule]]  # from rbac.plan_rules
    image: str | None = None  # --image; wins over spec.runner.image
    owner: Owner | None = None
    extra_labels: Mapping[str, str] = field(default_factory=dict)
    #: digest of the Trigger's own .spec (runner.rendered.spec_digest), for SpecInSync
    spec_digest: str = ""
    generation: int | None = None  # the Trigger's metadata.generation, once written

    @property
    def name(self) -> str:
        """The trigger's name."""
        return self.ref.name


def canonical_json(value: Any) -> str:
    """JSON with sorted keys and no spaces: equal values give equal text."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def spec_env_value(spec: Mapping[str, Any]) -> str:
    """The expanded spec as the runner's ``TRIGGER_SPEC`` value: canonical JSON with every
    "$" doubled, since Kubernetes expands $(VAR) in env values; so it arrives as written."""
    return rendered.canonical(spec).replace("$", "$$")


def spec_from_env_value(value: str) -> Any:
    """The spec back from a pod template's ``TRIGGER_SPEC`` value, "$$" read as "$" as the
    kubelet does (ValueError: not JSON)."""
    return json.loads(value.replace("$$", "$"))


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
    meta["labels"] = {**inp.extra_labels, **inp.ref.labels()}
    if inp.owner is not None:
        meta["ownerReferences"] = [inp.owner.reference()]
    return meta


def service_account(inp: RenderInput) -> Obj:
    """The runner's ServiceAccount."""
    return {
        "apiVersion": "v1",
        "kind": "ServiceAccount",
        "metadata": _meta(inp, inp.ref.derived_name, inp.home),
    }


def _subject(inp: RenderInput) -> Obj:
    return {"kind": "ServiceAccount", "name": inp.ref.derived_name, "namespace": inp.home}


def rbac_objects(inp: RenderInput) -> list[Obj]:
    """A Role + RoleBinding per namespace, a ClusterRole + binding for cluster-wide rules."""
    out: list[Obj] = []
    name = inp.ref.derived_name
    for scope, rules in inp.rules.items():
        if not rules:
            continue
        kind, ns = ("ClusterRole", None) if scope is CLUSTER else ("Role", scope)
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
    """The runner: one replica, Recreate, restricted pod security, the rendered spec inside."""
    image = runner_image(inp.spec, inp.image)
    name = inp.ref.derived_name
    env = [
        {"name": "TRIGGER_NAME", "value": inp.ref.name},
        {
            "name": "TRIGGER_NAMESPACE",
            "valueFrom": {"fieldRef": {"fieldPath": "metadata.namespace"}},
        },
        {"name": rendered.ENV_KIND, "value": inp.ref.kind},
        {"name": rendered.ENV_SPEC, "value": spec_env_value(inp.spec)},
        {"name": rendered.ENV_SPEC_DIGEST, "value": inp.spec_digest},
        {
            "name": rendered.ENV_GENERATION,
            "value": "" if inp.generation is None else str(inp.generation),
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
    labels = {**inp.extra_labels, **inp.ref.labels()}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": _meta(inp, name, inp.home),
        "spec": {
            "replicas": 1,
            "revisionHistoryLimit": 2,
            "strategy": {"type": "Recreate"},
            "selector": {"matchLabels": inp.ref.pod_selector()},
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


def source_summary(spec: Mapping[str, Any], ref: naming.Ref | None = None) -> str:
    """The SOURCE column: ``ConfigMap``, ``ConfigMap (all namespaces)``, ``cron 0 2 * * *``."""
    src = spec.get("source") or {}
    if "cron" in src:
        return f"cron {(src.get('cron') or {}).get('schedule', '')}".strip()
    res = src.get("resource") or {}
    kind = str(res.get("kind", ""))
    namespaces = res.get("namespaces") or []
    if ref is not None and ref.cluster_scoped and not namespaces:
        from kubectl_trigger.rbac import offline_resolver

        # a cluster-scoped kind (Namespace) has no namespaces to speak of
        if not offline_resolver(str(res.get("apiVersion", "")), kind).namespaced:
            return kind
    if "*" in namespaces or (not namespaces and ref is not None and ref.cluster_scoped):
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


def trigger_object(user: Mapping[str, Any], ref: naming.Ref, expanded: Mapping[str, Any]) -> Obj:
    """The Trigger (or ClusterTrigger) to write: the user's spec as written, plus annotations.

    The expanded spec is not stored on the object: it travels in the runner's pod
    template, where only those trusted with the runner's namespace can change it.
    """
    meta_in = user.get("metadata") or {}
    meta: Obj = {k: copy.deepcopy(v) for k, v in meta_in.items() if k not in SERVER_METADATA}
    if ref.cluster_scoped:
        meta.pop("namespace", None)
    else:
        meta["namespace"] = ref.namespace
    annotations = {
        k: v
        for k, v in (meta.get("annotations") or {}).items()
        if k not in (naming.ANNOTATION_EXPANDED_SPEC, LAST_APPLIED)
    }
    spec = copy.deepcopy(dict(user.get("spec") or {}))
    annotations[naming.ANNOTATION_SOURCE] = source_summary(expanded, ref)
    annotations[naming.ANNOTATION_ACTIONS] = action_summary(expanded)
    meta["annotations"] = annotations
    return {"apiVersion": API_VERSION, "kind": ref.kind, "metadata": meta, "spec": spec}
