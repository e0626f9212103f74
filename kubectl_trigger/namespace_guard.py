"""The admission guard on the controlled namespace, which ``install`` writes.

A ClusterTrigger's ClusterRoleBinding names its ServiceAccount by namespace and
name only (RBAC cannot bind to a uid), and it stays as long as the ClusterTrigger
does. Whoever recreates a deleted controlled namespace, or writes ServiceAccounts,
Pods, tokens or RoleBindings in it, could therefore take every ClusterTrigger's
cluster-wide rights. There is no controller to watch for that, so the API server
refuses it: a ValidatingAdmissionPolicy lets only those who may create
ClusterTriggers (who hold those rights anyway) create the namespace or write
there. Kubernetes' own controllers are exempt, so Deployments still get their
ReplicaSets and Pods and new namespaces their ``default`` ServiceAccount.
"""

from __future__ import annotations

from typing import Any

from kubectl_trigger import naming
from runner import API_GROUP

Obj = dict[str, Any]
NAME = "kubectl-trigger-controlled-namespace"
ADMISSION_API = "admissionregistration.k8s.io/v1"
_LABELS = {naming.LABEL_NAME: "kubectl-trigger", naming.LABEL_MANAGED_BY: "kubectl-trigger"}

#: Writes in the controlled namespace that could reach a ClusterTrigger's rights.
GUARDED = (
    (
        "",
        ("serviceaccounts", "serviceaccounts/token", "secrets", "pods", "pods/ephemeralcontainers"),
    ),
    ("apps", ("deployments",)),
    ("rbac.authorization.k8s.io", ("rolebindings",)),
)

#: Kubernetes' own components: controller-manager (its controllers run as kube-system
#: ServiceAccounts or as itself), scheduler and kubelets.
_SYSTEM_USERS = (
    "!request.userInfo.username.startsWith('system:serviceaccount:kube-system:') && "
    "!(request.userInfo.username in ['system:kube-controller-manager', "
    "'system:kube-scheduler']) && "
    "!('system:nodes' in request.userInfo.groups)"
)
_MAY_CREATE_CLUSTER_TRIGGERS = (
    f"authorizer.group('{API_GROUP}').resource('clustertriggers').check('create').allowed()"
)


def message(namespace: str) -> str:
    """Why a write was refused and what to do."""
    return (
        f"namespace {namespace} is the controlled namespace of kubectl-trigger: it holds "
        "every ClusterTrigger's runner, ServiceAccount and Secrets, and their cluster-wide "
        "rights are bound to ServiceAccounts there by name, so only those who may create "
        "ClusterTriggers may create this namespace or write ServiceAccounts, tokens, Secrets, "
        "Pods, Deployments or RoleBindings in it. Use another namespace, or ask a cluster "
        "admin (kubectl trigger install recreates the namespace; kubectl trigger apply "
        "recreates a ClusterTrigger's runner)"
    )


def policy(namespace: str) -> Obj:
    """The ValidatingAdmissionPolicy guarding ``namespace`` (a validated DNS label)."""
    rules = [
        {
            "apiGroups": [""],
            "apiVersions": ["v1"],
            "resources": ["namespaces"],
            "operations": ["CREATE"],
        },
        *(
            {
                "apiGroups": [group],
                "apiVersions": ["v1"],
                "resources": list(resources),
                "operations": ["CREATE", "UPDATE"],
            }
            for group, resources in GUARDED
        ),
    ]
    return {
        "apiVersion": ADMISSION_API,
        "kind": "ValidatingAdmissionPolicy",
        "metadata": {"name": NAME, "labels": dict(_LABELS)},
        "spec": {
            "failurePolicy": "Fail",
            "matchConstraints": {"resourceRules": rules},
            "matchConditions": [
                {
                    "name": "targets-the-controlled-namespace",
                    "expression": (
                        f"request.resource.resource == 'namespaces' ? "
                        f"object.metadata.name == '{namespace}' : "
                        f"request.namespace == '{namespace}'"
                    ),
                },
                {"name": "not-a-kubernetes-component", "expression": _SYSTEM_USERS},
            ],
            "validations": [
                {
                    "expression": _MAY_CREATE_CLUSTER_TRIGGERS,
                    "message": message(namespace),
                    "reason": "Forbidden",
                }
            ],
        },
    }


def binding() -> Obj:
    """The binding that puts the policy in force (deny, cluster-wide)."""
    return {
        "apiVersion": ADMISSION_API,
        "kind": "ValidatingAdmissionPolicyBinding",
        "metadata": {"name": NAME, "labels": dict(_LABELS)},
        "spec": {"policyName": NAME, "validationActions": ["Deny"]},
    }


def objects(namespace: str) -> list[Obj]:
    """Policy first: a binding to a missing policy would refuse nothing yet."""
    return [policy(namespace), binding()]
