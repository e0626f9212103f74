"""create -> get/describe -> apply (changed, unchanged) -> delete, against the real cluster.

The runner image here is one kwok only simulates (nothing runs), so these tests
check what the plugin writes, independently of the runner engine; the runner
itself runs in test_plugin_runner.py.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import yaml

from tests.conftest import Cluster
from tests.e2e.plugin_support import (  # noqa: F401 - fixture
    FAKE_IMAGE,
    GROUP,
    ForegroundRun,
    get_or_none,
    installed,
    labelled,
    plugin,
    plugin_argv,
    running_pod,
    submit,
    trigger_yaml,
)
from tests.polling import wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("installed")]

SPEC = {
    "source": {
        "resource": {"apiVersion": "v1", "kind": "ConfigMap", "events": ["update"]},
    },
    "actions": [{"rolloutRestart": {"kind": "Deployment", "selector": "app=web"}}],
}
DERIVED = "serviceaccounts,roles,rolebindings,deployments"


def _create(cluster: Cluster, namespace: str, spec: dict = SPEC, name: str = "web") -> None:
    proc = submit(cluster, "create", namespace, name, spec)
    assert proc.stdout.splitlines() == [
        f"trigger.triggers.kubectl-trigger.dev/{name} created",
        f"serviceaccount/trigger-{name} created",
        f"role.rbac.authorization.k8s.io/trigger-{name} created",
        f"rolebinding.rbac.authorization.k8s.io/trigger-{name} created",
        f"deployment.apps/trigger-{name} created",
    ]


def test_create_get_describe(cluster: Cluster, namespace: str) -> None:
    _create(cluster, namespace)
    trig = get_or_none(cluster, "trigger", "web", "-n", namespace)
    assert trig is not None
    uid = trig["metadata"]["uid"]
    for kind in ("serviceaccount", "role", "rolebinding", "deployment"):
        obj = get_or_none(cluster, kind, "trigger-web", "-n", namespace)
        assert obj is not None, kind
        (owner,) = obj["metadata"]["ownerReferences"]
        assert (owner["kind"], owner["name"], owner["uid"]) == ("Trigger", "web", uid)
        assert owner["blockOwnerDeletion"] is True
    pod = wait_for(lambda: running_pod(cluster, namespace, "web"), 60, "the runner pod Running")
    assert pod["spec"]["nodeName"] == "kt-node"

    # "triggers": ClusterTriggers other tests left would add a table of their own
    table = plugin(cluster, "get", "triggers", "-n", namespace).stdout.splitlines()
    assert table[0].split() == [
        "NAME",
        "SOURCE",
        "ACTIONS",
        "READY",
        "REASON",
        "SYNCED",
        "FIRED",
        "LAST",
        "FIRED",
        "AGE",
    ]
    assert table[1].split()[:3] == ["web", "ConfigMap", "rolloutRestart"]
    assert plugin(cluster, "get", "web", "-n", namespace, "-o", "name").stdout == (
        "trigger.triggers.kubectl-trigger.dev/web\n"
    )
    as_json = json.loads(plugin(cluster, "get", "web", "-n", namespace, "-o", "json").stdout)
    assert as_json["spec"] == SPEC
    # kubectl's own view: the CRD's printer columns and short name
    kubectl_table = cluster.kubectl("get", "trg", "-n", namespace).stdout.splitlines()
    assert kubectl_table[1].split()[:3] == ["web", "ConfigMap", "rolloutRestart"]

    text = plugin(cluster, "describe", "web", "-n", namespace).stdout
    assert "Name:         web" in text
    assert "Deployment: trigger-web (" in text
    assert pod["metadata"]["name"] in text
    assert "get,list,watch core/configmaps" in text
    assert "Running Spec:" in text and "rendered from generation 1" in text


def test_get_missing_trigger_exits_3(cluster: Cluster, namespace: str) -> None:
    proc = plugin(cluster, "get", "nope", "-n", namespace, check=False)
    assert proc.returncode == 3
    assert "not found" in proc.stderr


def test_create_twice_fails_and_changes_nothing(cluster: Cluster, namespace: str) -> None:
    _create(cluster, namespace)
    before = get_or_none(cluster, "deployment", "trigger-web", "-n", namespace)
    proc = submit(cluster, "create", namespace, "web", SPEC, check=False)
    assert proc.returncode == 1
    assert "already exists" in proc.stderr
    after = get_or_none(cluster, "deployment", "trigger-web", "-n", namespace)
    assert before and after
    # its spec untouched (the Deployment controller may write its status meanwhile)
    assert after["metadata"]["generation"] == before["metadata"]["generation"]
    assert after["spec"] == before["spec"]


def _versions(cluster: Cluster, namespace: str) -> dict[str, str]:
    objs = labelled(cluster, DERIVED, namespace, "web")
    trig = get_or_none(cluster, "trigger", "web", "-n", namespace)
    assert trig is not None
    objs.append(trig)
    return {f"{o['kind']}/{o['metadata']['name']}": o["metadata"]["resourceVersion"] for o in objs}


def _template_hash(cluster: Cluster, namespace: str) -> str:
    dep = get_or_none(cluster, "deployment", "trigger-web", "-n", namespace)
    assert dep is not None
    return str(
        dep["spec"]["template"]["metadata"]["annotations"]["triggers.kubectl-trigger.dev/spec-hash"]
    )


def test_apply_rolls_only_on_change(cluster: Cluster, namespace: str) -> None:
    _create(cluster, namespace)
    wait_for(lambda: running_pod(cluster, namespace, "web"), 60, "the runner pod Running")
    versions, hash_before = _versions(cluster, namespace), _template_hash(cluster, namespace)

    same = submit(cluster, "apply", namespace, "web", SPEC)
    assert all(line.endswith(" unchanged") for line in same.stdout.splitlines()), same.stdout
    assert _versions(cluster, namespace) == versions
    assert _template_hash(cluster, namespace) == hash_before

    changed = {**SPEC, "actions": [{"rolloutRestart": {"kind": "Deployment", "selector": "app=x"}}]}
    out = submit(cluster, "apply", namespace, "web", changed).stdout
    assert "trigger.triggers.kubectl-trigger.dev/web configured" in out
    assert "deployment.apps/trigger-web configured" in out
    assert _template_hash(cluster, namespace) != hash_before
    trig = get_or_none(cluster, "trigger", "web", "-n", namespace)
    assert trig is not None and trig["spec"] == changed

    # the rollout: a new ReplicaSet whose pod runs with the new hash
    def new_pod() -> dict | None:
        pod = running_pod(cluster, namespace, "web")
        ann = (pod or {}).get("metadata", {}).get("annotations") or {}
        return (
            pod
            if ann.get("triggers.kubectl-trigger.dev/spec-hash")
            == _template_hash(cluster, namespace)
            else None
        )

    wait_for(new_pod, 60, "a runner pod with the new spec hash")


def _cluster_trigger(cluster: Cluster, verb: str, name: str, spec: dict) -> str:
    text = yaml.safe_dump(
        {
            "apiVersion": "triggers.kubectl-trigger.dev/v1alpha1",
            "kind": "ClusterTrigger",
            "metadata": {"name": name},
            "spec": spec,
        }
    )
    return plugin(cluster, verb, "-f", "-", "--image", FAKE_IMAGE, input=text).stdout


def _cluster_labelled(cluster: Cluster, kinds: str, name: str) -> list[dict]:
    selector = f"triggers.kubectl-trigger.dev/clustertrigger={name}"
    return list(cluster.get_json(kinds, "-A", "-l", selector)["items"])


def test_apply_prunes_rbac_no_longer_needed(cluster: Cluster, namespace: str) -> None:
    name = f"prune-{namespace[-6:]}"
    wide = {
        "source": {
            "resource": {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "namespaces": [namespace, "kube-public"],
            }
        },
        "actions": [{"log": {"message": "x"}}],
    }
    _cluster_trigger(cluster, "create", name, wide)
    # "default": its Events (the API server takes Events on cluster-scoped objects only there)
    assert {r["metadata"]["namespace"] for r in _cluster_labelled(cluster, "roles", name)} == {
        "default",
        namespace,
        "kube-public",
    }
    narrow = {
        **wide,
        "source": {
            "resource": {"apiVersion": "v1", "kind": "ConfigMap", "namespaces": [namespace]}
        },
    }
    out = _cluster_trigger(cluster, "apply", name, narrow)
    assert f"role.rbac.authorization.k8s.io/clustertrigger-{name} pruned" in out
    assert f"rolebinding.rbac.authorization.k8s.io/clustertrigger-{name} pruned" in out
    assert {r["metadata"]["namespace"] for r in _cluster_labelled(cluster, "roles", name)} == {
        "default",
        namespace,
    }
    plugin(cluster, "delete", f"clustertrigger/{name}")


def test_delete_removes_everything(cluster: Cluster, namespace: str) -> None:
    name = f"del-{namespace[-6:]}"
    wide = {
        "source": {"resource": {"apiVersion": "v1", "kind": "ConfigMap", "namespaces": ["*"]}},
        "actions": [{"log": {"message": "x"}}],
    }
    _cluster_trigger(cluster, "create", name, wide)
    wait_for(
        lambda: any(
            p["status"].get("phase") == "Running" for p in _cluster_labelled(cluster, "pods", name)
        ),
        60,
        "the runner pod Running",
    )
    every = f"{DERIVED},clusterroles,clusterrolebindings"
    # SA, Role+Binding (its Events, in default), ClusterRole+Binding, Deployment
    assert len(_cluster_labelled(cluster, every, name)) == 6
    proc = plugin(cluster, "delete", "clustertrigger", name)
    assert proc.stdout == f"clustertrigger.triggers.kubectl-trigger.dev/{name} deleted\n"
    assert get_or_none(cluster, "clustertrigger", name) is None
    assert _cluster_labelled(cluster, f"{every},replicasets,pods", name) == []
    again = plugin(cluster, "delete", "clustertrigger", name, check=False)
    assert again.returncode == 3


def test_dry_runs_write_nothing(cluster: Cluster, namespace: str) -> None:
    doc = trigger_yaml("web", SPEC)
    server = plugin(
        cluster,
        "create",
        "-f",
        "-",
        "-n",
        namespace,
        "--image",
        FAKE_IMAGE,
        "--dry-run",
        "server",
        input=doc,
    )
    assert server.stdout.splitlines()[0] == (
        "trigger.triggers.kubectl-trigger.dev/web created (server dry run)"
    )
    client = plugin(
        cluster,
        "create",
        "-f",
        "-",
        "-n",
        namespace,
        "--dry-run",
        "client",
        "-o",
        "name",
        input=doc,
    )
    assert client.stdout.splitlines() == [
        "trigger.triggers.kubectl-trigger.dev/web",
        "serviceaccount/trigger-web",
        "role.rbac.authorization.k8s.io/trigger-web",
        "rolebinding.rbac.authorization.k8s.io/trigger-web",
        "deployment.apps/trigger-web",
    ]
    assert get_or_none(cluster, "trigger", "web", "-n", namespace) is None
    assert labelled(cluster, DERIVED, namespace, "web") == []


def test_get_all_namespaces_and_delete_all(cluster: Cluster, namespace: str) -> None:
    for name in ("a", "b"):
        submit(cluster, "create", namespace, name, SPEC)
    # "triggers": ClusterTriggers other tests left would add a table of their own
    rows = [line.split() for line in plugin(cluster, "get", "triggers", "-A").stdout.splitlines()]
    assert rows[0][:2] == ["NAMESPACE", "NAME"]
    assert [namespace, "a"] in [r[:2] for r in rows] and [namespace, "b"] in [r[:2] for r in rows]
    out = plugin(cluster, "delete", "--all", "-n", namespace).stdout
    assert out.splitlines() == [
        "trigger.triggers.kubectl-trigger.dev/a deleted",
        "trigger.triggers.kubectl-trigger.dev/b deleted",
    ]
    assert plugin(cluster, "get", "triggers", "-n", namespace, "-o", "name").stdout == ""


def test_run_prints_the_runner_command(cluster: Cluster, namespace: str) -> None:
    out = plugin(
        cluster,
        "run",
        "-f",
        "-",
        "-n",
        namespace,
        "--print-command",
        input=trigger_yaml("web", SPEC),
    ).stdout
    # the runner reads the same (whole) KUBECONFIG list the plugin read
    env, *argv = out.split()
    assert env == f"KUBECONFIG={cluster.kubeconfig}"
    assert argv[1:4] == ["-m", "runner", "--file"]
    assert argv[5:] == ["--metrics-address", "127.0.0.1:0"]
    body = json.loads(Path(argv[4]).read_text())
    assert (body["metadata"]["name"], body["metadata"]["namespace"]) == ("web", namespace)
    assert body["spec"] == SPEC


def test_run_fires_in_the_foreground_and_stops_on_ctrl_c(cluster: Cluster, namespace: str) -> None:
    """``run`` is the runner with the user's credentials: it fires, and Ctrl-C stops it cleanly."""
    spec = {
        "source": {"resource": {"apiVersion": "v1", "kind": "ConfigMap", "events": ["update"]}},
        "actions": [{"log": {"message": "changed {{ .object.metadata.name }}"}}],
    }
    cluster.kubectl("create", "configmap", "watched", "-n", namespace, "--from-literal=a=1")
    env = {**os.environ, "KUBECONFIG": cluster.kubeconfig}
    with ForegroundRun(env, ["-n", namespace], trigger_yaml("dev", spec)) as run:
        run.read_until("watching ConfigMap in " + namespace)
        cluster.kubectl(
            "patch", "configmap", "watched", "-n", namespace, "-p", '{"data":{"a":"2"}}'
        )
        run.read_until("changed watched")
        assert run.stop() == 0
    assert run.messages.count("changed watched") == 1


def test_plain_kubectl_get_triggers_lists_triggers_only(cluster: Cluster, namespace: str) -> None:
    """A TriggerTemplate beside a Trigger: `kubectl get triggers` shows the Trigger's table alone.

    (A CRD category named `triggers` made kubectl expand it to both kinds, with kind prefixes.)
    """
    submit(cluster, "create", namespace, "web", SPEC)
    template = {
        "apiVersion": f"{GROUP}/v1alpha1",
        "kind": "TriggerTemplate",
        "metadata": {"name": "notify", "namespace": namespace},
        "spec": {"actions": [{"name": "log", "log": {"message": "x"}}]},
    }
    cluster.kubectl("create", "-f", "-", input=json.dumps(template))
    out = cluster.kubectl("get", "triggers", "-n", namespace).stdout.splitlines()
    assert out[0].split()[:2] == ["NAME", "SOURCE"], out
    assert [line.split()[0] for line in out[1:]] == ["web"], out
    both = cluster.kubectl("get", "kubectl-trigger", "-n", namespace, "-o", "name").stdout
    assert sorted(both.split()) == [f"trigger.{GROUP}/web", f"triggertemplate.{GROUP}/notify"]
