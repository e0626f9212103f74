"""The trust model: a trigger's rights stay with the people who granted them (issue 7).

* A namespaced Trigger reaches only its own namespace; anything wider is refused
  (validate, render, create: exit 2 naming the field, nothing written) and is a
  ClusterTrigger, whose runner lives in the controlled namespace.
* The runner runs only the spec rendered into its pod template: a namespace
  admin who edits the Trigger with kubectl gets nothing new to run, and
  ``SpecInSync=False`` says so, until ``kubectl trigger apply`` renders it.
* A namespace ``edit`` user obtains no right outside the namespace through any
  trigger, token or pod there (SubjectAccessReviews and real requests).
* Deleting a ClusterTrigger (plain kubectl), a Trigger or its namespace leaves
  no RBAC, ServiceAccount or Deployment behind (the garbage collector does it).

Users are real: client certificates signed by the cluster's CA (tests/e2e/users.py),
bound to the built-in admin/edit roles, which ``install`` extends by aggregation.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import Cluster
from tests.e2e.plugin_support import (
    FAKE_IMAGE,
    GROUP,
    REPO,
    get_or_none,
    installed,  # noqa: F401 - fixture
    plugin,
)
from tests.e2e.users import user_kubeconfig
from tests.polling import wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("installed")]

SYSTEM = "kubectl-trigger-system"
API = f"{GROUP}/v1alpha1"
DERIVED = "serviceaccounts,roles,rolebindings,deployments"
CLUSTER_DERIVED = "clusterroles,clusterrolebindings"
MARK = "trust.example/seen-by"


# -- helpers ----------------------------------------------------------------------------------


def kubectl_as(
    cluster: Cluster, kubeconfig: str, *args: str, check: bool = True, input: str | None = None
) -> subprocess.CompletedProcess[str]:
    """kubectl as the user of ``kubeconfig``."""
    proc = subprocess.run(
        [str(cluster.bin_dir / "kubectl"), f"--kubeconfig={kubeconfig}", *args],
        input=input,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    if check and proc.returncode != 0:
        pytest.fail(f"kubectl {' '.join(args)} exited {proc.returncode}: {proc.stderr}")
    return proc


def doc(kind: str, name: str, spec: dict[str, Any], namespace: str | None = None) -> str:
    meta: dict[str, Any] = {"name": name} | ({"namespace": namespace} if namespace else {})
    return yaml.safe_dump({"apiVersion": API, "kind": kind, "metadata": meta, "spec": spec})


def mark_spec(value: str, namespaces: list[str] | None = None) -> dict[str, Any]:
    """On a labelled ConfigMap's update, label it ``MARK=value`` (a real, checkable effect)."""
    resource: dict[str, Any] = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "labelSelector": "trust.example/watched=true",
        "events": ["update"],
    }
    if namespaces is not None:
        resource["namespaces"] = namespaces
    return {
        "source": {"resource": resource},
        "actions": [{"patch": {"patch": {"metadata": {"labels": {MARK: value}}}}}],
    }


def selector(kind: str, name: str, namespace: str = "") -> str:
    if kind == "ClusterTrigger":
        return f"{GROUP}/clustertrigger={name}"
    return f"{GROUP}/trigger={name},{GROUP}/trigger-namespace={namespace}"


def derived(cluster: Cluster, kind: str, name: str, namespace: str = "") -> list[str]:
    """Every ClusterRole, ClusterRoleBinding, Role, RoleBinding, ServiceAccount, Deployment left."""
    sel = selector(kind, name, namespace)
    out = cluster.get_json(f"{DERIVED},{CLUSTER_DERIVED}", "-A", "-l", sel)
    return [
        f"{o['kind']} {o['metadata'].get('namespace', '')}/{o['metadata']['name']}"
        for o in out["items"]
    ]


def runner_ready(cluster: Cluster, namespace: str, sel: str) -> dict[str, Any] | None:
    """The runner pod once Ready, not being deleted, and watching (its log says so).

    The pod emulator marks a pod Ready when its process starts, where a kubelet waits
    for the runner's /readyz probe (listed and watching); a change made before the
    runner's first list would be in that list, not an event. So the log decides.
    """
    for pod in cluster.get_json("pods", "-n", namespace, "-l", sel)["items"]:
        status = pod.get("status") or {}
        ready = any(
            c.get("type") == "Ready" and c.get("status") == "True"
            for c in status.get("conditions") or []
        )
        if not ready or pod["metadata"].get("deletionTimestamp"):
            continue
        logs = cluster.kubectl("logs", pod["metadata"]["name"], "-n", namespace, check=False)
        if '"message":"watching ' in logs.stdout:
            return dict(pod)
    return None


def touch(cluster: Cluster, namespace: str, name: str, kubeconfig: str | None = None) -> None:
    """Create a watched ConfigMap, then change its data: one update event."""
    args = ("-n", namespace)
    run = (lambda *a, **k: kubectl_as(cluster, kubeconfig, *a, **k)) if kubeconfig else None
    manifest = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": name,
            "namespace": namespace,
            "labels": {"trust.example/watched": "true"},
        },
        "data": {"a": "1"},
    }
    if run:
        run("apply", "-f", "-", input=json.dumps(manifest))
        run("patch", "configmap", name, *args, "--type=merge", "-p", '{"data":{"a":"2"}}')
    else:
        cluster.kubectl("apply", "-f", "-", input=json.dumps(manifest))
        cluster.kubectl(
            "patch", "configmap", name, *args, "--type=merge", "-p", '{"data":{"a":"2"}}'
        )


def mark_of(cluster: Cluster, namespace: str, name: str) -> str | None:
    cm = get_or_none(cluster, "configmap", name, "-n", namespace) or {}
    return ((cm.get("metadata") or {}).get("labels") or {}).get(MARK)


def condition(obj: dict[str, Any] | None, type_: str) -> dict[str, Any]:
    for c in ((obj or {}).get("status") or {}).get("conditions") or []:
        if c.get("type") == type_:
            return dict(c)
    return {}


def can(
    cluster: Cluster, user: str, verb: str, resource: str, namespace: str = "", **extra: str
) -> bool:
    """The authorizer's own answer for ``user`` (a SubjectAccessReview)."""
    attrs: dict[str, str] = {"verb": verb, "resource": resource, **extra}
    if namespace:
        attrs["namespace"] = namespace
    spec: dict[str, Any] = {"user": user, "resourceAttributes": attrs}
    if user.startswith("system:serviceaccount:"):
        spec["groups"] = ["system:serviceaccounts", f"system:serviceaccounts:{user.split(':')[2]}"]
    review = {"apiVersion": "authorization.k8s.io/v1", "kind": "SubjectAccessReview", "spec": spec}
    out = cluster.kubectl("create", "-f", "-", "-o", "json", input=json.dumps(review)).stdout
    return bool(json.loads(out)["status"].get("allowed"))


@pytest.fixture
def other_namespace(cluster: Cluster, namespace: str) -> Iterator[str]:
    """A second fresh namespace."""
    name = f"{namespace[:50]}-b"
    cluster.kubectl("create", "namespace", name)
    yield name
    cluster.kubectl("delete", "namespace", name, "--wait=false", check=False)


@pytest.fixture
def users(cluster: Cluster, namespace: str, tmp_path: Path) -> dict[str, str]:
    """``admin``: the namespace's admin; ``edit``: an editor there. Kubeconfig paths."""
    out = {}
    for role in ("admin", "edit"):
        user = f"{role}-{namespace}"[:60]
        out[role] = user_kubeconfig(cluster, user, tmp_path / "users")
        cluster.kubectl(
            "create",
            "rolebinding",
            f"{role}-user",
            f"--clusterrole={role}",
            f"--user={user}",
            "-n",
            namespace,
        )
        out[f"{role}-name"] = user
    return out


# -- a namespaced Trigger stays in its namespace ---------------------------------------------------


OUTSIDE = [
    ("all-namespaces", {"namespaces": ["*"]}, None, "spec.source.resource.namespaces"),
    (
        "other-namespace",
        {"namespaces": ["{ns}", "kube-system"]},
        None,
        "spec.source.resource.namespaces[1]",
    ),
    (
        "cluster-scoped-source",
        {"kind": "Namespace", "apiVersion": "v1"},
        None,
        "spec.source.resource.kind",
    ),
    (
        "target-elsewhere",
        {},
        {
            "patch": {
                "target": {
                    "apiVersion": "v1",
                    "kind": "ConfigMap",
                    "name": "x",
                    "namespace": "kube-system",
                },
                "patch": {"data": {"a": "b"}},
            }
        },
        "spec.actions[0].patch.target.namespace",
    ),
]


@pytest.mark.parametrize(
    ("source", "action", "field"), [o[1:] for o in OUTSIDE], ids=[o[0] for o in OUTSIDE]
)
def test_a_trigger_reaching_outside_its_namespace_is_refused(
    cluster: Cluster,
    namespace: str,
    source: dict[str, Any],
    action: dict[str, Any] | None,
    field: str,
) -> None:
    resource = {"apiVersion": "v1", "kind": "ConfigMap"} | {
        k: ([x.format(ns=namespace) for x in v] if isinstance(v, list) else v)
        for k, v in source.items()
    }
    spec = {"source": {"resource": resource}, "actions": [action or {"log": {"message": "x"}}]}
    text = doc("Trigger", "wide", spec, namespace)
    for command in (["validate"], ["render"], ["create", "--image", FAKE_IMAGE]):
        proc = plugin(cluster, *command, "-f", "-", input=text, check=False)
        assert proc.returncode == 2, (command, proc.stdout, proc.stderr)
        assert field in proc.stderr and "kind: ClusterTrigger" in proc.stderr, proc.stderr
        assert "Traceback" not in proc.stderr
    assert get_or_none(cluster, "trigger", "wide", "-n", namespace) is None
    assert cluster.get_json(DERIVED, "-n", namespace, "-l", f"{GROUP}/trigger=wide")["items"] == []
    # the same spec as a ClusterTrigger is valid
    cluster_doc = doc("ClusterTrigger", "wide", spec)
    proc = plugin(cluster, "validate", "-f", "-", input=cluster_doc)
    assert "is valid" in proc.stdout


def test_cluster_trigger_fires_across_namespaces_and_plain_kubectl_delete_cascades(
    cluster: Cluster, namespace: str, other_namespace: str
) -> None:
    name = f"ct-{namespace[-6:]}"
    text = doc("ClusterTrigger", name, mark_spec("cluster", [namespace, other_namespace]))
    created = plugin(cluster, "create", "-f", "-", input=text)
    assert f"clustertrigger.{GROUP}/{name} created" in created.stdout
    sel = selector("ClusterTrigger", name)
    # the runner, its ServiceAccount and Deployment live in the controlled namespace
    deployment = cluster.get_json("deployment", f"clustertrigger-{name}", "-n", SYSTEM)
    assert deployment["spec"]["template"]["spec"]["serviceAccountName"] == f"clustertrigger-{name}"
    left = derived(cluster, "ClusterTrigger", name)
    assert f"Role {namespace}/clustertrigger-{name}" in left
    assert f"Role {other_namespace}/clustertrigger-{name}" in left
    owner = cluster.get_json("clustertrigger", name)["metadata"]["uid"]
    for kinds in (DERIVED, CLUSTER_DERIVED):
        for obj in cluster.get_json(kinds, "-A", "-l", sel)["items"]:
            refs = obj["metadata"].get("ownerReferences") or []
            assert [(r["kind"], r["uid"]) for r in refs] == [("ClusterTrigger", owner)], obj["kind"]
    # the ServiceAccount may not touch ConfigMaps in a namespace that is not listed
    sa = f"system:serviceaccount:{SYSTEM}:clustertrigger-{name}"
    assert can(cluster, sa, "patch", "configmaps", namespace)
    assert not can(cluster, sa, "patch", "configmaps", "default")

    wait_for(lambda: runner_ready(cluster, SYSTEM, sel), 90, "the ClusterTrigger's runner Ready")
    touch(cluster, namespace, "a")
    touch(cluster, other_namespace, "b")
    wait_for(lambda: mark_of(cluster, namespace, "a") == "cluster" or None, 30, "fired in ns 1")
    wait_for(lambda: mark_of(cluster, other_namespace, "b") == "cluster" or None, 30, "fired in 2")
    live = cluster.get_json("clustertrigger", name)
    assert condition(live, "SpecInSync").get("status") == "True"

    # get lists both kinds, kubectl-style; describe finds the runner in the controlled namespace
    plugin(
        cluster,
        "create",
        "--image",
        FAKE_IMAGE,
        "-f",
        "-",
        input=doc("Trigger", "local", mark_spec("local"), namespace),
    )
    listed = plugin(cluster, "get", "-n", namespace).stdout
    assert f"trigger.{GROUP}/local" in listed and f"clustertrigger.{GROUP}/{name}" in listed
    only = plugin(cluster, "get", "clustertriggers", name).stdout
    assert name in only and "local" not in only
    logged = plugin(cluster, "logs", f"clustertrigger/{name}").stdout
    assert any("ran for update" in json.loads(line)["message"] for line in logged.splitlines())
    described = plugin(cluster, "describe", f"clustertrigger/{name}").stdout
    assert "Kind:         ClusterTrigger" in described
    assert f"clustertrigger-{name}" in described and "Running Spec:" in described

    # an edit with kubectl runs nowhere; the Warning Event goes where the API server takes
    # Events on cluster-scoped objects ("default"), and describe shows it
    patch = {"spec": mark_spec("edited", [namespace])}
    cluster.kubectl("patch", "clustertrigger", name, "--type=merge", "-p", json.dumps(patch))
    pod = runner_ready(cluster, SYSTEM, sel)
    assert pod is not None
    cluster.kubectl("delete", "pod", pod["metadata"]["name"], "-n", SYSTEM)

    def warned() -> list[dict[str, Any]]:
        events = cluster.get_json(
            "events", "-n", "default", "--field-selector", f"involvedObject.name={name}"
        )["items"]
        return [e for e in events if e["reason"] == "SpecChangedOutsidePlugin"]

    (event,) = wait_for(warned, 90, "the SpecChangedOutsidePlugin Event")
    assert event["involvedObject"]["kind"] == "ClusterTrigger"
    assert (
        "SpecChangedOutsidePlugin" in plugin(cluster, "describe", f"clustertrigger/{name}").stdout
    )

    # plain kubectl: the garbage collector removes every derived object
    cluster.kubectl("delete", "clustertrigger", name, "--wait=false")
    wait_for(lambda: derived(cluster, "ClusterTrigger", name) == [] or None, 60, "GC of everything")


def test_render_and_create_warn_when_a_cluster_trigger_may_write_everywhere(
    cluster: Cluster,
) -> None:
    spec = {
        "source": {"resource": {"apiVersion": "v1", "kind": "ConfigMap"}},
        "actions": [
            {
                "delete": {
                    "target": {
                        "apiVersion": "v1",
                        "kind": "ConfigMap",
                        "name": "{{ .object.metadata.name }}-copy",
                    }
                }
            }
        ],
    }
    text = doc("ClusterTrigger", "everywhere", spec)
    proc = plugin(cluster, "render", "-f", "-", input=text)
    assert "cluster-wide write rights" in proc.stderr and "delete ConfigMap" in proc.stderr
    rendered = [d for d in yaml.safe_load_all(proc.stdout) if d]
    assert [d["kind"] for d in rendered if d["kind"].startswith("Cluster")] == [
        "ClusterTrigger",
        "ClusterRole",
        "ClusterRoleBinding",
    ]
    narrow = doc("ClusterTrigger", "narrow", mark_spec("x", ["default"]))
    assert "cluster-wide" not in plugin(cluster, "render", "-f", "-", input=narrow).stderr


# -- the runner runs what was rendered -----------------------------------------------------------


def test_an_edited_trigger_changes_nothing_that_runs_until_applied(
    cluster: Cluster, namespace: str, users: dict[str, str], tmp_path: Path
) -> None:
    admin = users["admin"]
    sel = selector("Trigger", "marker", namespace)
    original = doc("Trigger", "marker", mark_spec("old"), namespace)
    # a namespace admin creates it with the plugin: her own rights suffice, no more is granted
    plugin(cluster, "create", "--kubeconfig", admin, "-f", "-", input=original)
    wait_for(lambda: runner_ready(cluster, namespace, sel), 90, "the runner Ready")
    touch(cluster, namespace, "one", admin)
    wait_for(lambda: mark_of(cluster, namespace, "one") == "old" or None, 30, "the old action")

    # she edits the spec and the annotations with kubectl, then deletes the runner pod
    patch = {
        "metadata": {
            "annotations": {f"{GROUP}/expanded-spec": json.dumps(mark_spec("annotation"))}
        },
        "spec": mark_spec("new"),
    }
    kubectl_as(
        cluster,
        admin,
        "patch",
        "trigger",
        "marker",
        "-n",
        namespace,
        "--type=merge",
        "-p",
        json.dumps(patch),
    )
    old_pod = runner_ready(cluster, namespace, sel)
    assert old_pod is not None
    kubectl_as(cluster, admin, "delete", "pod", old_pod["metadata"]["name"], "-n", namespace)

    def new_pod() -> dict[str, Any] | None:
        pod = runner_ready(cluster, namespace, sel)
        return pod if pod and pod["metadata"]["uid"] != old_pod["metadata"]["uid"] else None

    wait_for(new_pod, 90, "a new runner pod Ready")
    trig = wait_for(
        lambda: (
            (t := get_or_none(cluster, "trigger", "marker", "-n", namespace))
            and condition(t, "SpecInSync").get("status") == "False"
            and t
        ),
        30,
        "SpecInSync=False",
    )
    sync = condition(trig, "SpecInSync")
    assert "kubectl trigger apply -f" in sync["message"], sync
    touch(cluster, namespace, "two", admin)
    wait_for(lambda: mark_of(cluster, namespace, "two") or None, 30, "the action ran")
    time.sleep(1)
    assert mark_of(cluster, namespace, "two") == "old"  # neither "new" nor "annotation"
    shown = plugin(cluster, "get", "-n", namespace, "marker").stdout
    assert "SYNCED" in shown and "False" in shown
    events = cluster.get_json(
        "events", "-n", namespace, "--field-selector", "reason=SpecChangedOutsidePlugin"
    )
    assert events["items"], "a Warning Event says the spec was edited"

    # kubectl trigger apply, by a user with the rights, renders and runs the new spec
    path = tmp_path / "marker.yaml"
    path.write_text(doc("Trigger", "marker", mark_spec("new"), namespace))
    plugin(cluster, "apply", "--kubeconfig", admin, "-f", str(path))
    wait_for(
        lambda: (
            condition(get_or_none(cluster, "trigger", "marker", "-n", namespace), "SpecInSync").get(
                "status"
            )
            == "True"
            or None
        ),
        90,
        "SpecInSync=True after apply",
    )
    wait_for(lambda: runner_ready(cluster, namespace, sel), 90, "the re-rendered runner Ready")
    touch(cluster, namespace, "three", admin)
    wait_for(lambda: mark_of(cluster, namespace, "three") == "new" or None, 30, "the new action")


# -- no right outside the namespace for its editors ---------------------------------------------


def test_a_namespace_editor_obtains_no_right_outside_it(
    cluster: Cluster, namespace: str, other_namespace: str, users: dict[str, str]
) -> None:
    editor, editor_name = users["edit"], users["edit-name"]
    # a Trigger in the namespace, and a ClusterTrigger that may patch ConfigMaps everywhere
    plugin(
        cluster,
        "create",
        "--image",
        FAKE_IMAGE,
        "-f",
        "-",
        input=doc("Trigger", "local", mark_spec("l"), namespace),
    )
    wide = f"w-{namespace[-6:]}"
    created = plugin(
        cluster,
        "create",
        "--image",
        FAKE_IMAGE,
        "-f",
        "-",
        input=doc("ClusterTrigger", wide, mark_spec("w")),
    )
    # create warns, as render does: it may patch ConfigMaps in every namespace
    assert "cluster-wide write rights: patch ConfigMap (v1), in every namespace" in created.stderr
    try:
        # the built-in roles, by aggregation: view reads Triggers, none has ClusterTriggers
        def rules(role: str) -> list[dict[str, Any]]:
            return list(cluster.get_json("clusterrole", role).get("rules") or [])

        for role in ("view", "edit", "admin"):
            ours = [r for r in rules(role) if GROUP in (r.get("apiGroups") or [])]
            assert any("triggers" in r["resources"] for r in ours), role
            assert not any("clustertriggers" in r["resources"] for r in ours), role
        # the editor reads and edits Triggers in her namespace (aggregated into edit), nothing else
        assert can(cluster, editor_name, "update", "triggers", namespace, group=GROUP)
        assert not can(cluster, editor_name, "get", "triggers", other_namespace, group=GROUP)
        assert not can(cluster, editor_name, "get", "clustertriggers", group=GROUP)
        for verb, resource, sub in (
            ("create", "serviceaccounts", "token"),
            ("create", "pods", ""),
            ("patch", "deployments", ""),
            ("get", "secrets", ""),
        ):
            extra = {"subresource": sub} if sub else {}
            assert not can(cluster, editor_name, verb, resource, SYSTEM, **extra), (verb, resource)
        # every ServiceAccount she can mint a token for, or run a pod as, in her namespace
        accounts = [
            a["metadata"]["name"]
            for a in cluster.get_json("serviceaccounts", "-n", namespace)["items"]
        ]
        assert "trigger-local" in accounts
        for account in accounts:
            sa = f"system:serviceaccount:{namespace}:{account}"
            assert can(
                cluster, editor_name, "create", "serviceaccounts", namespace, subresource="token"
            )
            for ns in (other_namespace, "default", SYSTEM):
                for verb, resource in (
                    ("get", "configmaps"),
                    ("patch", "configmaps"),
                    ("list", "secrets"),
                ):
                    assert not can(cluster, sa, verb, resource, ns), (account, verb, resource, ns)
            for verb, resource in (
                ("list", "namespaces"),
                ("list", "nodes"),
                ("create", "clusterrolebindings"),
            ):
                assert not can(cluster, sa, verb, resource), (account, verb, resource)
        # and real requests with a token she minted
        token = kubectl_as(
            cluster, editor, "create", "token", "trigger-local", "-n", namespace
        ).stdout.strip()
        for path in (f"/api/v1/namespaces/{other_namespace}/configmaps", "/api/v1/configmaps"):
            status = _status_with_token(cluster, token, path)
            assert status == 403, (path, status)
        assert (
            _status_with_token(cluster, token, f"/api/v1/namespaces/{namespace}/configmaps") == 200
        )
        # she cannot render RBAC at all (edit has no Roles), so the plugin cannot widen anything
        refused = plugin(
            cluster,
            "create",
            "--kubeconfig",
            editor,
            "--image",
            FAKE_IMAGE,
            "-f",
            "-",
            input=doc("Trigger", "mine", mark_spec("m"), namespace),
            check=False,
        )
        assert refused.returncode != 0 and "Traceback" not in refused.stderr
        assert get_or_none(cluster, "trigger", "mine", "-n", namespace) is None
    finally:
        plugin(cluster, "delete", f"clustertrigger/{wide}", "--no-wait", check=False)


def _status_with_token(cluster: Cluster, token: str, path: str) -> int:
    proc = subprocess.run(
        [
            str(cluster.bin_dir / "kubectl"),
            "--kubeconfig=/dev/null",
            f"--server={cluster.server}",
            f"--certificate-authority={cluster.state_dir / 'pki' / 'ca.crt'}",
            f"--token={token}",
            "get",
            "--raw",
            path,
        ],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    if proc.returncode == 0:
        return 200
    assert "Forbidden" in proc.stderr or "forbidden" in proc.stderr, proc.stderr
    return 403


# -- nothing left behind ---------------------------------------------------------------------------


def test_deleting_a_trigger_or_its_namespace_leaves_nothing(
    cluster: Cluster, namespace: str, tmp_path: Path
) -> None:
    # names that once collided (issue 8): s6-x/y-z and s6-x-y/z
    first, second = f"{namespace[:40]}-x", f"{namespace[:40]}-x-y"
    for ns in (first, second):
        cluster.kubectl("create", "namespace", ns)
    try:
        plugin(
            cluster,
            "create",
            "--image",
            FAKE_IMAGE,
            "-f",
            "-",
            input=doc("Trigger", "y-z", mark_spec("a"), first),
        )
        plugin(
            cluster,
            "create",
            "--image",
            FAKE_IMAGE,
            "-f",
            "-",
            input=doc("Trigger", "z", mark_spec("b"), second),
        )
        assert derived(cluster, "Trigger", "y-z", first) and derived(
            cluster, "Trigger", "z", second
        )
        # plain kubectl delete of a Trigger: GC removes its objects, the other's stay
        cluster.kubectl("delete", "trigger", "y-z", "-n", first, "--wait=false")
        wait_for(lambda: derived(cluster, "Trigger", "y-z", first) == [] or None, 60, "GC of y-z")
        assert len(derived(cluster, "Trigger", "z", second)) == 4
        # deleting the namespace takes everything of its Triggers with it
        cluster.kubectl("delete", "namespace", second, "--wait=false")
        wait_for(
            lambda: derived(cluster, "Trigger", "z", second) == [] or None, 120, "namespace gone"
        )
    finally:
        for ns in (first, second):
            cluster.kubectl(
                "delete", "namespace", ns, "--wait=false", "--ignore-not-found", check=False
            )


# -- Triggers made by older versions --------------------------------------------------------------


def test_an_old_trigger_reaching_outside_is_refused_and_explained(
    cluster: Cluster, namespace: str
) -> None:
    old = {
        "apiVersion": API,
        "kind": "Trigger",
        "metadata": {"name": "legacy", "namespace": namespace},
        "spec": mark_spec("legacy", ["*"]),
    }
    cluster.kubectl("create", "-f", "-", input=json.dumps(old))  # as an older plugin stored it
    # and the ClusterRole an older version bound its runner to, with no owner
    labels = {
        "app.kubernetes.io/managed-by": "kubectl-trigger",
        f"{GROUP}/trigger": "legacy",
        f"{GROUP}/trigger-namespace": namespace,
    }
    leftover = {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRole",
        "metadata": {"name": f"trigger-{namespace}-legacy", "labels": labels},
        "rules": [{"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get"]}],
    }
    cluster.kubectl("create", "-f", "-", input=json.dumps(leftover))
    listed = plugin(cluster, "get", "-n", namespace)
    assert "reaches outside its namespace" in listed.stderr and "ClusterTrigger" in listed.stderr
    described = plugin(cluster, "describe", "legacy", "-n", namespace).stdout
    assert "move it to a ClusterTrigger" in described
    applied = plugin(cluster, "apply", "-f", "-", input=yaml.safe_dump(old), check=False)
    assert applied.returncode == 2 and "spec.source.resource.namespaces" in applied.stderr
    # its runner refuses to run it, and says why in the Trigger's status
    env = {**os.environ, "KUBECONFIG": cluster.kubeconfig, "TRIGGER_NAMESPACE": namespace}
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "runner",
            "--trigger",
            f"{namespace}/legacy",
            "--metrics-address",
            "",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        cwd=REPO,
        check=False,
    )
    assert proc.returncode == 2, proc.stderr
    ready = condition(cluster.get_json("trigger", "legacy", "-n", namespace), "Ready")
    assert ready["status"] == "False" and ready["reason"] == "OutsideNamespace"
    assert "ClusterTrigger" in ready["message"]
    # the move: delete removes the old Trigger and what an older version left without owners
    plugin(cluster, "delete", "legacy", "-n", namespace)
    assert get_or_none(cluster, "clusterrole", f"trigger-{namespace}-legacy") is None


def test_install_records_another_controlled_namespace(cluster: Cluster, namespace: str) -> None:
    system = f"{namespace[:40]}-sys"
    try:
        out = plugin(cluster, "install", "--system-namespace", system).stdout
        assert f"namespace/{system} applied" in out
        crd = cluster.get_json("crd", f"clustertriggers.{GROUP}")
        assert crd["metadata"]["annotations"][f"{GROUP}/system-namespace"] == system
        name = f"sys-{namespace[-6:]}"
        plugin(
            cluster,
            "create",
            "--image",
            FAKE_IMAGE,
            "-f",
            "-",
            input=doc("ClusterTrigger", name, mark_spec("s", [namespace])),
        )
        assert get_or_none(cluster, "deployment", f"clustertrigger-{name}", "-n", system)
        assert get_or_none(cluster, "deployment", f"clustertrigger-{name}", "-n", SYSTEM) is None
        plugin(cluster, "delete", f"clustertrigger/{name}")
    finally:
        back = plugin(cluster, "install", check=False)
        assert back.returncode == 0, back.stderr
        cluster.kubectl("delete", "namespace", system, "--wait=false", "--ignore-not-found")


def test_a_rendered_manifest_applied_with_kubectl_runs_in_sync(
    cluster: Cluster, namespace: str
) -> None:
    # GitOps: render, then plain kubectl apply; 5.0 comes back from the API server as 5
    spec = {**mark_spec("gitops"), "options": {"rateLimit": {"perSecond": 5.0, "burst": 5}}}
    rendered = plugin(cluster, "render", "-f", "-", input=doc("Trigger", "gitops", spec, namespace))
    cluster.kubectl("apply", "-f", "-", input=rendered.stdout)
    sel = selector("Trigger", "gitops", namespace)
    wait_for(lambda: runner_ready(cluster, namespace, sel), 90, "the runner Ready")
    trig = wait_for(
        lambda: (
            (t := get_or_none(cluster, "trigger", "gitops", "-n", namespace))
            and condition(t, "SpecInSync").get("status")
            and t
        ),
        30,
        "SpecInSync reported",
    )
    assert condition(trig, "SpecInSync")["status"] == "True", condition(trig, "SpecInSync")
    touch(cluster, namespace, "g")
    wait_for(lambda: mark_of(cluster, namespace, "g") == "gitops" or None, 30, "it fired")
