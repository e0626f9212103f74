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

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from kubectl_trigger import naming
from runner import API_GROUP

if TYPE_CHECKING:
    from runner.kube.client import KubeClient

Obj = dict[str, Any]
NAME = "kubectl-trigger-controlled-namespace"
ADMISSION_API = "admissionregistration.k8s.io/v1"
#: Every controlled namespace the policy guards, comma-separated: a namespace stays guarded
#: after ``install --system-namespace`` moves on, since ClusterTriggers not yet applied again
#: keep their runners (and rights) there.
ANNOTATION_GUARDED = f"{API_GROUP}/guarded-namespaces"
#: An object carrying this annotation is always refused in a guarded namespace: ``install``
#: writes one with a dry run to learn when the API server enforces the policy it just wrote
#: (admission reads policies through an informer, a moment behind the write).
ANNOTATION_PROBE = f"{API_GROUP}/guard-probe"
_PROBE_NAME = "kubectl-trigger-guard-probe"
_PROBE_REFUSED = "kubectl-trigger's guard probe: the guard is in force"
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


_WHY = (
    " is a controlled namespace of kubectl-trigger: it holds every ClusterTrigger's runner, "
    "ServiceAccount and Secrets, and their cluster-wide rights are bound to ServiceAccounts "
    "there by name, so only those who may create ClusterTriggers may create this namespace or "
    "write ServiceAccounts, tokens, Secrets, Pods, Deployments or RoleBindings in it. Use "
    "another namespace, or ask a cluster admin (kubectl trigger install recreates the "
    "namespace; kubectl trigger apply recreates a ClusterTrigger's runner)"
)
_TARGET = "(request.resource.resource == 'namespaces' ? object.metadata.name : request.namespace)"


def message(namespace: str) -> str:
    """Why a write in ``namespace`` was refused and what to do."""
    return f"namespace {namespace}{_WHY}"


def policy(namespaces: Sequence[str]) -> Obj:
    """The ValidatingAdmissionPolicy guarding ``namespaces`` (validated DNS labels)."""
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
    listed = ", ".join(f"'{name}'" for name in namespaces)
    return {
        "apiVersion": ADMISSION_API,
        "kind": "ValidatingAdmissionPolicy",
        "metadata": {
            "name": NAME,
            "labels": dict(_LABELS),
            "annotations": {ANNOTATION_GUARDED: ",".join(namespaces)},
        },
        "spec": {
            "failurePolicy": "Fail",
            "matchConstraints": {"resourceRules": rules},
            "matchConditions": [
                {
                    "name": "targets-a-controlled-namespace",
                    "expression": f"{_TARGET} in [{listed}]",
                },
                {"name": "not-a-kubernetes-component", "expression": _SYSTEM_USERS},
            ],
            "validations": [
                {
                    "expression": _MAY_CREATE_CLUSTER_TRIGGERS,
                    "message": message(" or ".join(namespaces)),
                    "messageExpression": f"'namespace ' + {_TARGET} + {_WHY!r}",
                    "reason": "Forbidden",
                },
                {
                    "expression": (
                        "!has(object.metadata.annotations) || "
                        f"!({ANNOTATION_PROBE!r} in object.metadata.annotations)"
                    ),
                    "message": _PROBE_REFUSED,
                    "reason": "Forbidden",
                },
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


def objects(namespaces: Sequence[str]) -> list[Obj]:
    """Policy first: a binding to a missing policy would refuse nothing yet."""
    return [policy(namespaces), binding()]


def wait_in_force(client: KubeClient, namespace: str, timeout: float) -> None:
    """Return once the API server refuses the probe in ``namespace``; fail after ``timeout``.

    Until then a tenant's write there would still pass (the policy or its new namespace
    list not yet read by admission), so ``install`` must not report the guard done.
    """
    import time

    from kubectl_trigger import session
    from kubectl_trigger.errors import OperationFailed, translated
    from runner.kube import errors as kube_errors

    probe = {
        "apiVersion": "v1",
        "kind": "ServiceAccount",
        "metadata": {
            "name": _PROBE_NAME,
            "namespace": namespace,
            "annotations": {ANNOTATION_PROBE: "true"},
        },
    }
    info = session.known("ServiceAccount")
    deadline = time.monotonic() + timeout
    while True:
        with translated(f"check the admission guard on namespace {namespace}"):
            try:
                client.create(info, probe, namespace, dry_run=True)
            except (kube_errors.Forbidden, kube_errors.Invalid) as refused:
                if _PROBE_REFUSED in str(refused):
                    return
                raise
            except kube_errors.Conflict:
                pass  # a ServiceAccount of that name exists: admission let the probe through
        if time.monotonic() > deadline:
            raise OperationFailed(
                f"the admission guard on namespace {namespace} is not in force after "
                f"{timeout:g}s (ValidatingAdmissionPolicy {NAME}); run kubectl trigger install "
                "again, or check that the API server serves admissionregistration.k8s.io/v1"
            )
        time.sleep(0.2)


def guarded(client: KubeClient) -> list[str]:
    """The namespaces the live policy guards; none before the first install."""
    from kubectl_trigger import session
    from kubectl_trigger.errors import translated
    from runner.kube import errors as kube_errors

    with translated(f"read ValidatingAdmissionPolicy {NAME}"):
        try:
            live = client.get(session.known("ValidatingAdmissionPolicy"), NAME)
        except kube_errors.NotFound:
            return []
    annotations = (live.get("metadata") or {}).get("annotations") or {}
    text = str(annotations.get(ANNOTATION_GUARDED) or "")
    return [name for name in text.split(",") if name]
