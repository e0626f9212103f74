"""A namespace editor cannot make the plugin speak or act for triggers she does not own.

The built-in ``edit`` role lets a user create Pods, Deployments and ServiceAccounts with
any labels in her namespace, including the labels that mark an object as a trigger's
runner or derived object. Labels alone must not count: her look-alikes must not change
what ``get`` and ``describe`` show for a ClusterTrigger or another namespace's Trigger,
and an admin's ``kubectl trigger delete`` must neither delete them nor wait for them
(it waited 60 s and failed). The user is real: a client certificate bound to ``edit``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import Cluster
from tests.e2e.plugin_support import (
    FAKE_IMAGE,
    GROUP,
    installed,  # noqa: F401 - fixture
    plugin,
)
from tests.e2e.test_trust_model import kubectl_as
from tests.e2e.users import user_kubeconfig
from tests.polling import wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("installed")]

API = f"{GROUP}/v1alpha1"
#: a test image the pod emulator runs on the host: it exits at once, so it crash-loops
CRASHING_IMAGE = "localhost/kt-test/crash:1"


def _editor(cluster: Cluster, namespace: str, tmp_path: Path) -> str:
    user = f"mallory-{namespace}"[:60]
    config = user_kubeconfig(cluster, user, tmp_path / "users")
    cluster.kubectl(
        "create", "rolebinding", "mallory-edit", "--clusterrole=edit", f"--user={user}",
        "-n", namespace,
    )  # fmt: skip
    return config


def _look_alikes(namespace: str, labels: dict[str, str]) -> str:
    """A crash-looping Pod, a Deployment and a ServiceAccount, all labelled as ``labels`` say."""
    own = {"app.kubernetes.io/name": "kubectl-trigger", **labels}
    meta = {"namespace": namespace, "labels": own}
    docs: list[dict[str, Any]] = [
        {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": "imposter", **meta},
            "spec": {
                "restartPolicy": "Always",
                "containers": [
                    {"name": "runner", "image": CRASHING_IMAGE, "command": ["sh", "-c", "exit 1"]}
                ],
            },
        },
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": "imposter", **meta},
            "spec": {
                "replicas": 0,
                "selector": {"matchLabels": {"app": "imposter"}},
                "template": {
                    "metadata": {"labels": {"app": "imposter"}},
                    "spec": {"containers": [{"name": "runner", "image": "evil.example/x:1"}]},
                },
            },
        },
        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "imposter", **meta}},
    ]
    return yaml.safe_dump_all(docs)


def _crash_looping(cluster: Cluster, namespace: str) -> bool:
    pod = cluster.get_json("pod", "imposter", "-n", namespace)
    return any(
        (s.get("state") or {}).get("waiting", {}).get("reason") == "CrashLoopBackOff"
        for s in (pod.get("status") or {}).get("containerStatuses") or []
    )


def _rows(cluster: Cluster, *args: str) -> list[dict[str, str]]:
    lines = plugin(cluster, "get", *args).stdout.splitlines()
    header = lines[0].split()
    return [dict(zip(header, line.split(), strict=False)) for line in lines[1:]]


def _still_there(cluster: Cluster, namespace: str) -> list[str]:
    out = cluster.get_json("pods,deployments,serviceaccounts", "-n", namespace)
    return sorted(
        f"{o['kind']}/{o['metadata']['name']}"
        for o in out["items"]
        if o["metadata"]["name"] == "imposter" and not o["metadata"].get("deletionTimestamp")
    )


def test_look_alikes_do_not_speak_for_a_cluster_trigger(
    cluster: Cluster, namespace: str, tmp_path: Path
) -> None:
    """Her crash-looping pod labelled as a ClusterTrigger's runner leaves its READY alone,
    her labelled Deployment is not shown as its runner, and the admin's delete is quick
    and leaves her objects (they were never the ClusterTrigger's)."""
    mallory = _editor(cluster, namespace, tmp_path)
    name = f"ct-{namespace}"[:50]
    spec = {
        "source": {"resource": {"apiVersion": "v1", "kind": "Namespace", "events": ["create"]}},
        "actions": [{"log": {"message": "new namespace {{ .object.metadata.name }}"}}],
    }
    ct = yaml.safe_dump(
        {"apiVersion": API, "kind": "ClusterTrigger", "metadata": {"name": name}, "spec": spec}
    )
    plugin(cluster, "create", "-f", "-", "--image", FAKE_IMAGE, input=ct)
    try:
        labels = {
            "app.kubernetes.io/managed-by": "kubectl-trigger",
            f"{GROUP}/clustertrigger": name,
        }
        kubectl_as(cluster, mallory, "apply", "-f", "-", input=_look_alikes(namespace, labels))
        wait_for(lambda: _crash_looping(cluster, namespace), 60, "her pod to crash-loop")

        row = next(r for r in _rows(cluster, "clustertrigger") if r["NAME"] == name)
        assert row["REASON"] != "CrashLoopBackOff", row

        described = plugin(cluster, "describe", f"clustertrigger/{name}").stdout
        assert "imposter" not in described, described
        assert "evil.example" not in described, described
    finally:
        deleted = plugin(
            cluster, "delete", f"clustertrigger/{name}", "--timeout", "30", check=False
        )
    assert deleted.returncode == 0, deleted.stderr
    assert "imposter" not in deleted.stderr + deleted.stdout
    assert _still_there(cluster, namespace) == [
        "Deployment/imposter",
        "Pod/imposter",
        "ServiceAccount/imposter",
    ]


def test_look_alikes_do_not_speak_for_another_namespaces_trigger(
    cluster: Cluster, namespace: str, tmp_path: Path
) -> None:
    """A pod in her namespace labelled as the runner of a Trigger in another namespace
    changes nothing that ``get -A`` shows for it."""
    mallory = _editor(cluster, namespace, tmp_path)
    other = f"{namespace[:50]}-v"
    cluster.kubectl("create", "namespace", other)
    try:
        spec = {
            "source": {"resource": {"apiVersion": "v1", "kind": "ConfigMap", "events": ["update"]}},
            "actions": [{"log": {"message": "changed {{ .object.metadata.name }}"}}],
        }
        doc = json.dumps(
            {"apiVersion": API, "kind": "Trigger", "metadata": {"name": "victim"}, "spec": spec}
        )
        plugin(cluster, "create", "-f", "-", "-n", other, "--image", FAKE_IMAGE, input=doc)
        labels = {
            "app.kubernetes.io/managed-by": "kubectl-trigger",
            f"{GROUP}/trigger": "victim",
            f"{GROUP}/trigger-namespace": other,
        }
        kubectl_as(cluster, mallory, "apply", "-f", "-", input=_look_alikes(namespace, labels))
        wait_for(lambda: _crash_looping(cluster, namespace), 60, "her pod to crash-loop")

        row = next(r for r in _rows(cluster, "-A") if r["NAMESPACE"] == other)
        assert row["REASON"] != "CrashLoopBackOff", row
        described = plugin(cluster, "describe", "victim", "-n", other).stdout
        assert "imposter" not in described, described

        deleted = plugin(cluster, "delete", "victim", "-n", other, "--timeout", "30", check=False)
        assert deleted.returncode == 0, deleted.stderr
        assert len(_still_there(cluster, namespace)) == 3
    finally:
        cluster.kubectl("delete", "namespace", other, "--wait=false", check=False)


def test_terminal_escapes_from_her_events_and_status_reach_no_terminal(
    cluster: Cluster, namespace: str, tmp_path: Path
) -> None:
    """An editor's Event about a Trigger and a namespace admin's status text carry escape
    sequences (clear the screen, overwrite a row): get and describe show them as text."""
    mallory = _editor(cluster, namespace, tmp_path)
    spec = {
        "source": {"resource": {"apiVersion": "v1", "kind": "ConfigMap", "events": ["update"]}},
        "actions": [{"log": {"message": "changed {{ .object.metadata.name }}"}}],
    }
    doc = json.dumps(
        {"apiVersion": API, "kind": "Trigger", "metadata": {"name": "esc"}, "spec": spec}
    )
    plugin(cluster, "create", "-f", "-", "-n", namespace, "--image", FAKE_IMAGE, input=doc)
    trig = cluster.get_json("trigger", "esc", "-n", namespace)
    hostile = "boom\x1b[2J\x1b[31mred\rover"
    event = {
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {"name": "forged", "namespace": namespace},
        "involvedObject": {
            "apiVersion": API,
            "kind": "Trigger",
            "name": "esc",
            "namespace": namespace,
            "uid": trig["metadata"]["uid"],
        },
        "reason": "Forged",
        "message": hostile,
        "type": "Warning",
        "source": {"component": "mallory"},
    }
    kubectl_as(cluster, mallory, "create", "-f", "-", input=json.dumps(event))
    # the status subresource: namespace admins may write it (a runner's Role grants it)
    status = {"lastError": {"summary": hostile, "message": hostile, "time": "2026-01-01T00:00:00Z"}}
    cluster.kubectl(
        "patch", "trigger", "esc", "-n", namespace, "--subresource=status", "--type=merge",
        "-p", json.dumps({"status": status}),
    )  # fmt: skip

    wide = plugin(cluster, "get", "-n", namespace, "-o", "wide").stdout
    described = plugin(cluster, "describe", "esc", "-n", namespace).stdout
    for shown in (wide, described):
        assert "\x1b" not in shown and "\r" not in shown, repr(shown)
    assert "boom^[[2J^[[31mred" in wide
    assert described.count("boom^[[2J^[[31mred") >= 2, described  # the Event, the last error
