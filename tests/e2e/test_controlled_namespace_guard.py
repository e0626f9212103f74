"""The controlled namespace's admission guard (issue 7, kubectl_trigger.namespace_guard).

A ClusterTrigger's ClusterRoleBinding names its ServiceAccount by namespace and
name, and outlives the controlled namespace. On a cluster where tenants may create
namespaces and ServiceAccounts, the ValidatingAdmissionPolicy ``install`` writes
refuses them the controlled namespace (recreating it, or writing ServiceAccounts,
Pods, Secrets, Deployments in it), while a cluster admin, the plugin's own
``install`` and Kubernetes' controllers (a ClusterTrigger's runner still starts)
go through. ``uninstall`` removes the guard.

The tenant is a real RBAC subject, reached by impersonation (``kubectl --as``):
a ClusterRole made for the test lets it create namespaces and the guarded kinds
everywhere, but not ClusterTriggers.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
import yaml

from tests.conftest import Cluster
from tests.e2e.plugin_support import (
    GROUP,
    get_or_none,
    installed,  # noqa: F401 - fixture
    plugin,
)
from tests.polling import wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("installed")]

GUARD = "kubectl-trigger-controlled-namespace"
TENANT = "guard-tenant"
DEFAULT_SYSTEM = "kubectl-trigger-system"  # what the session's ``installed`` fixture records
WHY = "is a controlled namespace of kubectl-trigger"
WHO = "only those who may create ClusterTriggers may create this namespace"


def as_tenant(cluster: Cluster, *args: str, input: str | None = None) -> tuple[int, str]:
    """kubectl as the tenant: (exit code, stderr + stdout)."""
    proc = cluster.kubectl("--as", TENANT, *args, check=False, input=input)
    return proc.returncode, proc.stderr + proc.stdout


def assert_guarded(result: tuple[int, str], system: str) -> None:
    code, text = result
    assert code != 0, text
    assert f"ValidatingAdmissionPolicy '{GUARD}'" in text, text
    assert f"namespace {system} {WHY}" in text and WHO in text, text
    assert "kubectl trigger install" in text, text  # what to do


def pod_yaml(namespace: str, name: str) -> str:
    return yaml.safe_dump(
        {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": name, "namespace": namespace},
            "spec": {  # Pod Security "restricted" passes it: only the guard may refuse it
                "securityContext": {
                    "runAsNonRoot": True,
                    "seccompProfile": {"type": "RuntimeDefault"},
                },
                "containers": [
                    {
                        "name": "c",
                        "image": "registry.example/steal:1",
                        "securityContext": {
                            "allowPrivilegeEscalation": False,
                            "capabilities": {"drop": ["ALL"]},
                        },
                    }
                ],
            },
        }
    )


@pytest.fixture(scope="module")
def system(cluster: Cluster) -> Iterator[str]:
    """A controlled namespace of this module's own, guarded, and a self-service tenant."""
    name = f"guard-sys-{uuid.uuid4().hex[:6]}"
    role = f"guard-selfservice-{name[-6:]}"
    out = plugin(cluster, "install", "--system-namespace", name).stdout
    assert f"validatingadmissionpolicy.admissionregistration.k8s.io/{GUARD} applied" in out
    assert f"validatingadmissionpolicybinding.admissionregistration.k8s.io/{GUARD} applied" in out
    cluster.kubectl(
        "create",
        "clusterrole",
        role,
        "--verb=create,get,list,update,patch,delete",
        "--resource=namespaces,serviceaccounts,serviceaccounts/token,pods,secrets,deployments",
    )
    cluster.kubectl(
        "create", "clusterrolebinding", role, f"--clusterrole={role}", f"--user={TENANT}"
    )
    try:
        yield name
    finally:
        back = plugin(cluster, "install", check=False)  # the default controlled namespace again
        cluster.kubectl("delete", "clusterrolebinding,clusterrole", role, "--ignore-not-found")
        cluster.kubectl("delete", "namespace", name, "--wait=false", "--ignore-not-found")
        assert back.returncode == 0, back.stderr


def test_a_tenant_may_not_write_in_the_controlled_namespace(
    cluster: Cluster, system: str, namespace: str
) -> None:
    # RBAC allows it: only the guard refuses
    for kind in ("serviceaccounts", "pods", "secrets", "deployments.apps"):
        can = cluster.kubectl("auth", "can-i", "create", kind, "-n", system, "--as", TENANT)
        assert can.stdout.strip() == "yes", kind
    assert (
        cluster.kubectl(
            "auth", "can-i", "create", f"clustertriggers.{GROUP}", "--as", TENANT, check=False
        ).stdout.strip()
        == "no"
    )
    sa = f"clustertrigger-{uuid.uuid4().hex[:6]}"
    assert_guarded(as_tenant(cluster, "create", "serviceaccount", sa, "-n", system), system)
    assert_guarded(as_tenant(cluster, "apply", "-f", "-", input=pod_yaml(system, "p")), system)
    assert_guarded(
        as_tenant(cluster, "create", "secret", "generic", "s", "--from-literal=a=b", "-n", system),
        system,
    )
    assert_guarded(
        as_tenant(cluster, "create", "deployment", "d", "--image=x.example/y", "-n", system),
        system,
    )
    # a token for a ServiceAccount that exists there (the admin's)
    cluster.kubectl("create", "serviceaccount", sa, "-n", system)
    assert_guarded(as_tenant(cluster, "create", "token", sa, "-n", system), system)
    # updates too: the tenant may not relabel the admin's ServiceAccount
    assert_guarded(as_tenant(cluster, "label", "serviceaccount", sa, "x=y", "-n", system), system)
    assert get_or_none(cluster, "pod", "p", "-n", system) is None
    # the former controlled namespace (before this module's install) stays guarded: ClusterTriggers
    # not applied again keep their runners and rights there
    guarded = cluster.get_json("validatingadmissionpolicy", GUARD)["metadata"]["annotations"]
    names = guarded[f"{GROUP}/guarded-namespaces"].split(",")
    assert names[0] == system and DEFAULT_SYSTEM in names, names
    assert_guarded(
        as_tenant(cluster, "create", "serviceaccount", sa, "-n", DEFAULT_SYSTEM), DEFAULT_SYSTEM
    )
    assert get_or_none(cluster, "secret", "s", "-n", system) is None
    # the same writes elsewhere pass: the guard is for the controlled namespace only
    assert as_tenant(cluster, "create", "serviceaccount", sa, "-n", namespace)[0] == 0
    assert as_tenant(cluster, "apply", "-f", "-", input=pod_yaml(namespace, "p"))[0] == 0
    assert as_tenant(cluster, "create", "token", sa, "-n", namespace)[0] == 0


def test_a_deleted_controlled_namespace_is_refused_to_a_tenant_and_admins_recreate_it(
    cluster: Cluster, system: str, namespace: str
) -> None:
    cluster.kubectl("delete", "namespace", system, "--timeout=90s")
    assert get_or_none(cluster, "namespace", system) is None
    assert_guarded(as_tenant(cluster, "create", "namespace", system), system)
    assert get_or_none(cluster, "namespace", system) is None
    # other namespaces the tenant still creates
    own = f"{namespace[:50]}-own"
    try:
        assert as_tenant(cluster, "create", "namespace", own)[0] == 0
    finally:
        cluster.kubectl("delete", "namespace", own, "--wait=false", "--ignore-not-found")

    # the plugin's install (a cluster admin) recreates it; its default ServiceAccount
    # comes from the controller-manager, which the guard lets through
    out = plugin(cluster, "install", "--system-namespace", system).stdout
    assert f"namespace/{system} applied" in out
    wait_for(
        lambda: get_or_none(cluster, "serviceaccount", "default", "-n", system),
        30,
        "the controller-manager's default ServiceAccount",
    )
    # a cluster admin writes there (plain kubectl)
    cluster.kubectl("create", "serviceaccount", "by-admin", "-n", system)

    # a ClusterTrigger created by an admin gets its runner: Deployment -> ReplicaSet -> Pod
    # are written by the controller-manager's ServiceAccounts
    name = f"guarded-{uuid.uuid4().hex[:6]}"
    spec = {
        "source": {
            "resource": {"apiVersion": "v1", "kind": "ConfigMap", "namespaces": [namespace]}
        },
        "actions": [{"log": {"message": "{{ .object.metadata.name }} changed"}}],
    }
    text = yaml.safe_dump(
        {"apiVersion": f"{GROUP}/v1alpha1", "kind": "ClusterTrigger", "metadata": {"name": name}}
        | {"spec": spec}
    )
    created = plugin(cluster, "create", "-f", "-", input=text)
    assert f"clustertrigger.{GROUP}/{name} created" in created.stdout
    try:
        deployment = f"clustertrigger-{name}"

        def ready() -> bool:
            got = get_or_none(cluster, "deployment", deployment, "-n", system) or {}
            return bool((got.get("status") or {}).get("readyReplicas") == 1)

        wait_for(ready, 120, "the ClusterTrigger's runner Deployment ready")
        # the tenant still may not take its ServiceAccount's token or add a pod using it
        assert_guarded(as_tenant(cluster, "create", "token", deployment, "-n", system), system)
        # an admin's apply of the same ClusterTrigger passes too
        applied = plugin(cluster, "apply", "-f", "-", input=text)
        assert applied.returncode == 0
    finally:
        plugin(cluster, "delete", f"clustertrigger/{name}", check=False)


def test_uninstall_lists_and_removes_the_guard(cluster: Cluster, system: str) -> None:
    policy = f"validatingadmissionpolicy.admissionregistration.k8s.io/{GUARD}"
    binding = f"validatingadmissionpolicybinding.admissionregistration.k8s.io/{GUARD}"
    dry = plugin(cluster, "uninstall", "--dry-run", "--delete-triggers").stdout
    assert f"{policy} deleted (dry run)" in dry and f"{binding} deleted (dry run)" in dry
    assert get_or_none(cluster, "validatingadmissionpolicy", GUARD)
    try:
        gone = plugin(cluster, "uninstall", "--delete-triggers", timeout=300).stdout
        assert f"{policy} deleted" in gone and f"{binding} deleted" in gone
        assert get_or_none(cluster, "validatingadmissionpolicy", GUARD) is None
        assert get_or_none(cluster, "validatingadmissionpolicybinding", GUARD) is None
        # without the guard the tenant's write is no longer refused by it (once admission has
        # read the deletion: a moment, which uninstall does not wait for)
        wait_for(
            lambda: as_tenant(cluster, "create", "namespace", system, "--dry-run=server")[0] == 0,
            15,
            "the tenant's namespace create to pass without the guard",
        )
    finally:
        plugin(cluster, "install", "--system-namespace", system)
    listed = cluster.get_json("validatingadmissionpolicy", GUARD)
    # installed anew, it guards only the namespace it was given
    assert listed["metadata"]["annotations"][f"{GROUP}/guarded-namespaces"] == system
    assert listed["spec"]["matchConditions"][0]["expression"].endswith(f" in ['{system}']")
