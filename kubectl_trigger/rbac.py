"""Least-privilege RBAC for one runner, from the spec's permissions.

``runner.spec.rbac.required_permissions`` states what a trigger needs by kind;
here kinds become resources (through discovery when a cluster is reachable,
else a table of built-in kinds for offline render) and permissions become
rules, grouped deterministically:

* permissions in the Trigger's namespace -> one Role + RoleBinding there;
* in another listed namespace -> a Role + RoleBinding in that namespace;
* in every namespace (``namespace=None``) or on a cluster-scoped kind -> one
  ClusterRole + ClusterRoleBinding.

Nothing is ever a wildcard, and a rule with ``names`` grants only those names.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from kubectl_trigger.errors import BadInput
from runner import API_VERSION
from runner.permissions import Permission

#: apiVersion/kind -> (plural, namespaced) for the kinds an offline render must know.
BUILTIN_KINDS: dict[tuple[str, str], tuple[str, bool]] = {
    ("v1", "ConfigMap"): ("configmaps", True),
    ("v1", "Secret"): ("secrets", True),
    ("v1", "Pod"): ("pods", True),
    ("v1", "Service"): ("services", True),
    ("v1", "ServiceAccount"): ("serviceaccounts", True),
    ("v1", "Endpoints"): ("endpoints", True),
    ("v1", "Event"): ("events", True),
    ("v1", "PersistentVolumeClaim"): ("persistentvolumeclaims", True),
    ("v1", "Namespace"): ("namespaces", False),
    ("v1", "Node"): ("nodes", False),
    ("apps/v1", "Deployment"): ("deployments", True),
    ("apps/v1", "StatefulSet"): ("statefulsets", True),
    ("apps/v1", "DaemonSet"): ("daemonsets", True),
    ("apps/v1", "ReplicaSet"): ("replicasets", True),
    ("batch/v1", "Job"): ("jobs", True),
    ("batch/v1", "CronJob"): ("cronjobs", True),
    ("networking.k8s.io/v1", "Ingress"): ("ingresses", True),
    ("policy/v1", "PodDisruptionBudget"): ("poddisruptionbudgets", True),
    ("autoscaling/v2", "HorizontalPodAutoscaler"): ("horizontalpodautoscalers", True),
    ("events.k8s.io/v1", "Event"): ("events", True),
    ("coordination.k8s.io/v1", "Lease"): ("leases", True),
    ("rbac.authorization.k8s.io/v1", "Role"): ("roles", True),
    ("rbac.authorization.k8s.io/v1", "RoleBinding"): ("rolebindings", True),
    ("core.oam.dev/v1beta1", "Application"): ("applications", True),
    (API_VERSION, "Trigger"): ("triggers", True),
    (API_VERSION, "ClusterTrigger"): ("clustertriggers", False),
    ("v1", "PersistentVolume"): ("persistentvolumes", False),
    ("storage.k8s.io/v1", "StorageClass"): ("storageclasses", False),
    ("rbac.authorization.k8s.io/v1", "ClusterRole"): ("clusterroles", False),
    ("rbac.authorization.k8s.io/v1", "ClusterRoleBinding"): ("clusterrolebindings", False),
    ("apiextensions.k8s.io/v1", "CustomResourceDefinition"): ("customresourcedefinitions", False),
    ("admissionregistration.k8s.io/v1", "ValidatingWebhookConfiguration"): (
        "validatingwebhookconfigurations",
        False,
    ),
    ("admissionregistration.k8s.io/v1", "MutatingWebhookConfiguration"): (
        "mutatingwebhookconfigurations",
        False,
    ),
    ("scheduling.k8s.io/v1", "PriorityClass"): ("priorityclasses", False),
    (API_VERSION, "TriggerTemplate"): ("triggertemplates", True),
}


@dataclass(frozen=True, order=True)
class Resource:
    """A kind resolved to its API group and plural (with ``/subresource`` if any)."""

    group: str
    resource: str
    namespaced: bool


#: (apiVersion, kind) -> Resource; raises BadInput for a kind the cluster does not serve.
Resolver = Callable[[str, str], Resource]


def offline_resolver(api_version: str, kind: str) -> Resource:
    """Resolve from BUILTIN_KINDS; a CRD kind not in the table is guessed (lowercase + s)."""
    base, _, sub = kind.partition("/")
    group = api_version.rpartition("/")[0] if "/" in api_version else ""
    plural, namespaced = BUILTIN_KINDS.get((api_version, base), (base.lower() + "s", True))
    return Resource(group, f"{plural}/{sub}" if sub else plural, namespaced)


@dataclass(frozen=True, order=True)
class Rule:
    """One PolicyRule: verbs on resources of one group, maybe limited to names."""

    group: str
    resources: tuple[str, ...]
    verbs: tuple[str, ...]
    names: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, list[str]]:
        """The rule as the RBAC API writes it."""
        rule = {"apiGroups": [self.group], "resources": list(self.resources)}
        rule["verbs"] = list(self.verbs)
        if self.names:
            rule["resourceNames"] = list(self.names)
        return rule


CLUSTER = None  # the scope key of cluster-wide rules


def self_permissions(namespace: str, name: str, kind: str = "Trigger") -> list[Permission]:
    """What every runner needs on its own Trigger (or ClusterTrigger) and to record Events.

    ``namespace`` is the Trigger's (ignored for a ClusterTrigger, which has none, and
    whose Events the API server takes only in ``default``). They are stated once, in
    ``runner.spec.rbac.own_permissions``; ``required_permissions`` includes them.
    """
    from runner.spec.rbac import own_permissions

    return own_permissions(kind, None if kind == "ClusterTrigger" else namespace, name)


def plan_rules(
    permissions: Iterable[Permission], resolve: Resolver
) -> dict[str | None, list[Rule]]:
    """Rules per scope: a namespace, or ``CLUSTER`` (None) for cluster-wide rules."""
    # (scope, group, resource, names) -> verbs
    verbs: dict[tuple[str | None, str, str, tuple[str, ...]], set[str]] = defaultdict(set)
    for p in permissions:
        if not p.verbs or "*" in p.verbs or p.kind in ("*", ""):
            raise BadInput(f"refusing a wildcard permission on {p.api_version} {p.kind}")
        res = resolve(p.api_version, p.kind)
        scope = p.namespace if res.namespaced else CLUSTER
        verbs[(scope, res.group, res.resource, tuple(sorted(set(p.names))))] |= set(p.verbs)
    # rules that share group, verbs and names are merged into one rule over several resources
    merged: dict[tuple[str | None, str, tuple[str, ...], tuple[str, ...]], set[str]] = defaultdict(
        set
    )
    for (scope, group, resource, names), verb_set in verbs.items():
        merged[(scope, group, tuple(sorted(verb_set)), names)].add(resource)
    rules: dict[str | None, list[Rule]] = defaultdict(list)
    for (scope, group, verb_list, names), resources in merged.items():
        rules[scope].append(Rule(group, tuple(sorted(resources)), verb_list, names))
    return {scope: sorted(rs) for scope, rs in sorted(rules.items(), key=_scope_order)}


def _scope_order(item: tuple[str | None, list[Rule]]) -> tuple[int, str]:
    return (0, item[0]) if item[0] is not None else (1, "")
