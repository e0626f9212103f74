"""Names, labels and annotations of the objects derived from a Trigger.

One place decides how a Trigger's ServiceAccount, RBAC objects and Deployment
are named and labelled, so render, delete, describe and logs all find the same
objects. Names longer than Kubernetes allows are truncated and suffixed with a
short hash of the full name, so two long names never collide.
"""

from __future__ import annotations

import hashlib
import re

from runner import ANNOTATION_EXPANDED_SPEC as _EXPANDED_SPEC
from runner import API_GROUP

NAME_PREFIX = "trigger-"
MAX_NAME = 63  # DNS-1123 label: also valid as a label value and for pod names

LABEL_NAME = "app.kubernetes.io/name"
LABEL_COMPONENT = "app.kubernetes.io/component"
LABEL_MANAGED_BY = "app.kubernetes.io/managed-by"
LABEL_TRIGGER = f"{API_GROUP}/trigger"
LABEL_TRIGGER_NAMESPACE = f"{API_GROUP}/trigger-namespace"

ANNOTATION_SPEC_HASH = f"{API_GROUP}/spec-hash"
ANNOTATION_EXPANDED_SPEC = _EXPANDED_SPEC
ANNOTATION_SOURCE = f"{API_GROUP}/source"
ANNOTATION_ACTIONS = f"{API_GROUP}/actions"

CONTAINER_NAME = "runner"
_INVALID = re.compile(r"[^a-z0-9.-]+")


def fit(name: str, limit: int = MAX_NAME) -> str:
    """``name`` if it fits in ``limit`` characters, else a truncated prefix plus a hash."""
    if len(name) <= limit:
        return name
    digest = hashlib.sha256(name.encode()).hexdigest()[:8]
    return f"{name[: limit - 9].rstrip('-.')}-{digest}"


def derived_name(trigger: str) -> str:
    """Name of the namespaced objects derived from Trigger ``trigger``."""
    return fit(NAME_PREFIX + trigger)


def cluster_name(namespace: str, trigger: str) -> str:
    """Name of cluster-scoped objects: the namespace is part of it, names being global."""
    return fit(f"{NAME_PREFIX}{namespace}-{trigger}")


def label_value(value: str) -> str:
    """A label value (at most 63 characters) standing for ``value``."""
    return fit(_INVALID.sub("-", value.lower()).strip("-.") or "x")


def labels(namespace: str, trigger: str) -> dict[str, str]:
    """The labels every derived object carries."""
    return {
        LABEL_NAME: "kubectl-trigger",
        LABEL_COMPONENT: "runner",
        LABEL_MANAGED_BY: "kubectl-trigger",
        LABEL_TRIGGER: label_value(trigger),
        LABEL_TRIGGER_NAMESPACE: label_value(namespace),
    }


def selector(namespace: str, trigger: str) -> str:
    """A label selector matching exactly the objects derived from one Trigger."""
    return (
        f"{LABEL_MANAGED_BY}=kubectl-trigger,{LABEL_TRIGGER}={label_value(trigger)},"
        f"{LABEL_TRIGGER_NAMESPACE}={label_value(namespace)}"
    )


def pod_selector(namespace: str, trigger: str) -> dict[str, str]:
    """The Deployment's (immutable) pod selector."""
    return {
        LABEL_NAME: "kubectl-trigger",
        LABEL_TRIGGER: label_value(trigger),
        LABEL_TRIGGER_NAMESPACE: label_value(namespace),
    }
