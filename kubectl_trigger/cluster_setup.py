"""What ``install`` writes besides the CRDs: the controlled namespace and the aggregated roles.

Pure functions over plain dicts, so ``install --dry-run=client`` prints them and
unit tests check them. The aggregated ClusterRoles carry the Kubernetes
``aggregate-to-*`` labels, so the built-in ``admin`` and ``edit`` roles manage
Triggers and TriggerTemplates in their namespaces and ``view`` reads them.
ClusterTriggers are aggregated into none of them: only cluster admins (or whom
they bind explicitly) manage them.
"""

from __future__ import annotations

from typing import Any

from kubectl_trigger import naming
from runner import API_GROUP

Obj = dict[str, Any]
RBAC_API = "rbac.authorization.k8s.io/v1"
AGGREGATE = "rbac.authorization.k8s.io/aggregate-to-"
ADMIN_ROLE = "kubectl-trigger-admin"
EDIT_ROLE = "kubectl-trigger-edit"
VIEW_ROLE = "kubectl-trigger-view"
READ = ["get", "list", "watch"]
WRITE = ["create", "update", "patch", "delete", "deletecollection"]
_LABELS = {naming.LABEL_NAME: "kubectl-trigger", naming.LABEL_MANAGED_BY: "kubectl-trigger"}


def namespace(name: str) -> Obj:
    """The controlled namespace; Pod Security ``restricted``, which runners pass."""
    return {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {
            "name": name,
            "labels": {
                **_LABELS,
                "pod-security.kubernetes.io/enforce": "restricted",
                "pod-security.kubernetes.io/enforce-version": "latest",
            },
        },
    }


def _role(name: str, verbs: list[str], aggregate_to: tuple[str, ...]) -> Obj:
    labels = {**_LABELS, **{f"{AGGREGATE}{role}": "true" for role in aggregate_to}}
    return {
        "apiVersion": RBAC_API,
        "kind": "ClusterRole",
        "metadata": {"name": name, "labels": labels},
        "rules": [
            {
                "apiGroups": [API_GROUP],
                "resources": ["triggers", "triggertemplates"],
                "verbs": verbs,
            },
            {"apiGroups": [API_GROUP], "resources": ["triggers/status"], "verbs": ["get"]},
        ],
    }


def aggregated_roles() -> list[Obj]:
    """Triggers and TriggerTemplates for the built-in namespace roles (no ClusterTriggers).

    Only ``admin`` also writes a Trigger's status: creating a Trigger binds its runner
    a Role that writes it, and RBAC lets nobody grant what they do not hold. (``edit``
    cannot create Roles, so it cannot create runners either.)
    """
    status_writer = {
        "apiVersion": RBAC_API,
        "kind": "ClusterRole",
        "metadata": {"name": ADMIN_ROLE, "labels": {**_LABELS, f"{AGGREGATE}admin": "true"}},
        "rules": [
            {
                "apiGroups": [API_GROUP],
                "resources": ["triggers/status"],
                "verbs": ["get", "update", "patch"],
            }
        ],
    }
    return [
        status_writer,
        _role(EDIT_ROLE, READ + WRITE, ("admin", "edit")),
        _role(VIEW_ROLE, READ, ("view",)),
    ]


def annotate_crd(crd: Obj, system_namespace: str) -> Obj:
    """The ClusterTrigger CRD with the controlled namespace recorded on it."""
    meta = crd.setdefault("metadata", {})
    meta.setdefault("annotations", {})[naming.ANNOTATION_SYSTEM_NAMESPACE] = system_namespace
    return crd
