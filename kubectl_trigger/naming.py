"""Names, labels and annotations of the objects derived from a Trigger or ClusterTrigger.

One place decides how a trigger's ServiceAccount, RBAC objects and Deployment
are named and labelled, so render, delete, describe and logs all find the same
objects. Every (kind, namespace, name) gets its own names: a Trigger's objects
are ``trigger-<name>`` in its own namespace, a ClusterTrigger's are
``clustertrigger-<name>`` in the controlled namespace and for its cluster-scoped
RBAC, so no two triggers can ever claim the same object. Names longer than
Kubernetes allows are truncated and suffixed with a short hash of the full name.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from runner import ANNOTATION_EXPANDED_SPEC as _EXPANDED_SPEC
from runner import API_GROUP

NAME_PREFIX = "trigger-"
CLUSTER_PREFIX = "clustertrigger-"
TRIGGER = "Trigger"
CLUSTER_TRIGGER = "ClusterTrigger"
#: where ClusterTriggers' runners live unless ``install --system-namespace`` says otherwise
DEFAULT_SYSTEM_NAMESPACE = "kubectl-trigger-system"
MAX_NAME = 63  # DNS-1123 label: also valid as a label value and for pod names

LABEL_NAME = "app.kubernetes.io/name"
LABEL_COMPONENT = "app.kubernetes.io/component"
LABEL_MANAGED_BY = "app.kubernetes.io/managed-by"
LABEL_TRIGGER = f"{API_GROUP}/trigger"
LABEL_TRIGGER_NAMESPACE = f"{API_GROUP}/trigger-namespace"
LABEL_CLUSTER_TRIGGER = f"{API_GROUP}/clustertrigger"

ANNOTATION_SPEC_HASH = f"{API_GROUP}/spec-hash"
ANNOTATION_EXPANDED_SPEC = _EXPANDED_SPEC
ANNOTATION_SOURCE = f"{API_GROUP}/source"
ANNOTATION_ACTIONS = f"{API_GROUP}/actions"
#: on the ClusterTrigger CRD: the namespace ClusterTriggers' runners live in
ANNOTATION_SYSTEM_NAMESPACE = f"{API_GROUP}/system-namespace"

CONTAINER_NAME = "runner"
_INVALID = re.compile(r"[^a-z0-9.-]+")


def fit(name: str, limit: int = MAX_NAME) -> str:
    """``name`` if it fits in ``limit`` characters, else a truncated prefix plus a hash."""
    if len(name) <= limit:
        return name
    digest = hashlib.sha256(name.encode()).hexdigest()[:8]
    return f"{name[: limit - 9].rstrip('-.')}-{digest}"


@dataclass(frozen=True, order=True)
class Ref:
    """One trigger: a namespaced Trigger, or a ClusterTrigger (``namespace`` empty)."""

    kind: str
    namespace: str
    name: str

    @classmethod
    def trigger(cls, namespace: str, name: str) -> Ref:
        """A namespaced Trigger."""
        return cls(TRIGGER, namespace, name)

    @classmethod
    def cluster(cls, name: str) -> Ref:
        """A ClusterTrigger."""
        return cls(CLUSTER_TRIGGER, "", name)

    @property
    def cluster_scoped(self) -> bool:
        """True for a ClusterTrigger."""
        return self.kind == CLUSTER_TRIGGER

    def __str__(self) -> str:
        """``Trigger shop/web`` or ``ClusterTrigger web``, for messages."""
        return (
            f"{self.kind} {self.namespace}/{self.name}"
            if self.namespace
            else f"{self.kind} {self.name}"
        )

    @property
    def derived_name(self) -> str:
        """The name of every object derived from this trigger."""
        return fit((CLUSTER_PREFIX if self.cluster_scoped else NAME_PREFIX) + self.name)

    def pod_selector(self) -> dict[str, str]:
        """The runner Deployment's (immutable) pod selector."""
        if self.cluster_scoped:
            return {LABEL_NAME: "kubectl-trigger", LABEL_CLUSTER_TRIGGER: label_value(self.name)}
        return {
            LABEL_NAME: "kubectl-trigger",
            LABEL_TRIGGER: label_value(self.name),
            LABEL_TRIGGER_NAMESPACE: label_value(self.namespace),
        }

    def labels(self) -> dict[str, str]:
        """The labels every derived object carries."""
        return {
            LABEL_NAME: "kubectl-trigger",
            LABEL_COMPONENT: "runner",
            LABEL_MANAGED_BY: "kubectl-trigger",
            **{k: v for k, v in self.pod_selector().items() if k != LABEL_NAME},
        }

    def selector(self) -> str:
        """A label selector matching exactly the objects derived from this trigger."""
        own = {k: v for k, v in self.pod_selector().items() if k != LABEL_NAME}
        return ",".join(
            [f"{LABEL_MANAGED_BY}=kubectl-trigger", *(f"{k}={v}" for k, v in own.items())]
        )

    def owns(self, labels: dict[str, str]) -> bool:
        """Whether ``labels`` (of a live object) say it was derived from this trigger."""
        own = {k: v for k, v in self.pod_selector().items() if k != LABEL_NAME}
        if not self.cluster_scoped and LABEL_CLUSTER_TRIGGER in labels:
            return False
        return all(labels.get(k) == v for k, v in own.items())


def derived_name(trigger: str) -> str:
    """Name of the namespaced objects derived from Trigger ``trigger``."""
    return Ref.trigger("", trigger).derived_name


def label_value(value: str) -> str:
    """A label value (at most 63 characters) standing for ``value``."""
    return fit(_INVALID.sub("-", value.lower()).strip("-.") or "x")


def labels(namespace: str, trigger: str) -> dict[str, str]:
    """The labels every object derived from Trigger ``namespace/trigger`` carries."""
    return Ref.trigger(namespace, trigger).labels()


def selector(namespace: str, trigger: str) -> str:
    """A label selector matching exactly the objects derived from one Trigger."""
    return Ref.trigger(namespace, trigger).selector()


def pod_selector(namespace: str, trigger: str) -> dict[str, str]:
    """The Deployment's (immutable) pod selector of Trigger ``namespace/trigger``."""
    return Ref.trigger(namespace, trigger).pod_selector()
