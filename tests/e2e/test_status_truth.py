"""Issue 8 items 1, 2, 6 and 7, with the real runner on the local control plane.

1. READY is True only while the runner of the current generation is ready and its
   source watches: a crash-looping runner, a source whose CRD was deleted and an
   update in progress all show False with a reason, in ``kubectl trigger get``,
   ``describe`` and plain ``kubectl get triggers``.
2. Every condition carries the current observedGeneration, so ``kubectl wait
   --for=condition=Ready`` works after ``create`` and after ``apply`` of a new spec.
6. ``get -o wide`` shows the last error, shortened.
7. Derived names never collide (``s6-x/y-z`` and ``s6-x-y/z``), and the advice when an
   object of the same name belongs to another trigger never says to delete it.
"""

from __future__ import annotations

import itertools
import json
import time
from typing import Any

import pytest
import yaml

from tests.conftest import Cluster
from tests.e2e.plugin_support import (  # noqa: F401 - fixture
    GROUP,
    get_or_none,
    installed,
    plugin,
    submit,
    trigger_yaml,
)
from tests.polling import wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("installed")]

CONFIGMAPS = {"resource": {"apiVersion": "v1", "kind": "ConfigMap", "events": ["update"]}}
LOG = [{"log": {"message": "changed"}}]


def _create(cluster: Cluster, namespace: str, name: str, spec: dict[str, Any]) -> None:
    """``kubectl trigger create`` with the real runner image (the pod emulator runs it)."""
    plugin(cluster, "create", "-f", "-", "-n", namespace, input=trigger_yaml(name, spec))


def _apply(cluster: Cluster, namespace: str, name: str, spec: dict[str, Any]) -> None:
    plugin(cluster, "apply", "-f", "-", "-n", namespace, input=trigger_yaml(name, spec))


def _row(cluster: Cluster, namespace: str, name: str, *flags: str) -> dict[str, str]:
    """``kubectl trigger get NAME`` as {HEADER: cell} (headers of one word each)."""
    lines = plugin(cluster, "get", name, "-n", namespace, *flags).stdout.splitlines()
    return _cells(lines)


def _kubectl_row(cluster: Cluster, namespace: str, name: str, *flags: str) -> dict[str, str]:
    """Plain ``kubectl get trigger NAME``: the CRD's printer columns."""
    lines = cluster.kubectl("get", "trigger", name, "-n", namespace, *flags).stdout.splitlines()
    return _cells(lines)


def _cells(lines: list[str]) -> dict[str, str]:
    """A kubectl table's two lines cut where the header's columns start (two spaces or more
    before them: "LAST FIRED" is one column)."""
    header, row = lines[0], lines[1]
    starts = [0] + [
        i for i in range(2, len(header)) if header[i] != " " and header[i - 2 : i] == "  "
    ]
    bounds = [*starts, max(len(header), len(row)) + 1]
    return {header[a:b].strip(): row[a:b].strip() for a, b in itertools.pairwise(bounds)}


def _conditions(cluster: Cluster, namespace: str, name: str) -> dict[str, dict[str, Any]]:
    trig = get_or_none(cluster, "trigger", name, "-n", namespace) or {}
    return {c["type"]: c for c in (trig.get("status") or {}).get("conditions") or []}


def _generation(cluster: Cluster, namespace: str, name: str) -> int:
    trig = get_or_none(cluster, "trigger", name, "-n", namespace) or {}
    return int(trig["metadata"]["generation"])


def _ready(cluster: Cluster, namespace: str, name: str) -> bool:
    return _row(cluster, namespace, name).get("READY") == "True"


def _wait(cluster: Cluster, namespace: str, name: str, timeout: int = 90) -> None:
    """``kubectl wait --for=condition=Ready``, as docs/cli.md says to use it after create."""
    proc = cluster.kubectl(
        "wait",
        f"trigger/{name}",
        "-n",
        namespace,
        "--for=condition=Ready",
        f"--timeout={timeout}s",
        check=False,
    )
    assert proc.returncode == 0, proc.stderr


def test_a_crash_looping_runner_is_not_ready(cluster: Cluster, namespace: str) -> None:
    _create(cluster, namespace, "loops", {"source": CONFIGMAPS, "actions": LOG})
    _wait(cluster, namespace, "loops")
    assert _ready(cluster, namespace, "loops")
    # the runner now exits at start (its rendered spec is not JSON): CrashLoopBackOff
    cluster.kubectl(
        "set", "env", "deployment/trigger-loops", "-n", namespace, "TRIGGER_SPEC={broken"
    )
    row = wait_for(
        lambda: (r := _row(cluster, namespace, "loops"))["REASON"] == "CrashLoopBackOff" and r,
        90,
        "get to show CrashLoopBackOff",
    )
    assert row["READY"] == "False"
    # as on a real kubelet, a container in back-off makes its pod, and the Deployment, not ready
    wait_for(
        lambda: (
            not cluster.get_json("deployment/trigger-loops", "-n", namespace)["status"].get(
                "readyReplicas"
            )
        ),
        60,
        "the runner Deployment to report no ready replica",
    )
    # plain kubectl reads what the runner wrote before exiting
    plain = _kubectl_row(cluster, namespace, "loops")
    assert (plain["READY"], plain["REASON"]) == ("False", "RunnerFailed"), plain
    ready = _conditions(cluster, namespace, "loops")["Ready"]
    assert "TRIGGER_SPEC" in ready["message"]
    text = plugin(cluster, "describe", "loops", "-n", namespace).stdout
    assert "Ready:        False (CrashLoopBackOff): the runner exits" in text, text
    # and kubectl wait does not pass
    proc = cluster.kubectl(
        "wait",
        "trigger/loops",
        "-n",
        namespace,
        "--for=condition=Ready",
        "--timeout=2s",
        check=False,
    )
    assert proc.returncode != 0


def _widget_crd(group: str) -> dict[str, Any]:
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": f"widgets.{group}"},
        "spec": {
            "group": group,
            "scope": "Namespaced",
            "names": {"kind": "Widget", "plural": "widgets", "singular": "widget"},
            "versions": [
                {
                    "name": "v1",
                    "served": True,
                    "storage": True,
                    "schema": {
                        "openAPIV3Schema": {
                            "type": "object",
                            "x-kubernetes-preserve-unknown-fields": True,
                        }
                    },
                }
            ],
        },
    }


def test_a_source_that_stops_watching_is_not_ready_at_once(
    cluster: Cluster, namespace: str
) -> None:
    group = f"{namespace}.status.example"
    cluster.kubectl("apply", "-f", "-", input=json.dumps(_widget_crd(group)))
    cluster.kubectl("wait", "--for=condition=Established", f"crd/widgets.{group}", "--timeout=30s")
    try:
        source = {"resource": {"apiVersion": f"{group}/v1", "kind": "Widget"}}
        _create(cluster, namespace, "widgets", {"source": source, "actions": LOG})
        _wait(cluster, namespace, "widgets")
    finally:
        cluster.kubectl("delete", "crd", f"widgets.{group}", "--wait=true")
    deleted = time.monotonic()
    wait_for(
        lambda: _conditions(cluster, namespace, "widgets")["Ready"]["status"] == "False",
        10,
        "Ready=False within 10 s of the source's CRD being deleted",
    )
    took = time.monotonic() - deleted
    ready = _conditions(cluster, namespace, "widgets")["Ready"]
    assert ready["reason"] == "SourceUnavailable", ready
    assert ready["observedGeneration"] == 1
    plain = _kubectl_row(cluster, namespace, "widgets")
    assert (plain["READY"], plain["REASON"]) == ("False", "SourceUnavailable")
    row = _row(cluster, namespace, "widgets")
    assert (row["READY"], row["REASON"]) == ("False", "SourceUnavailable")
    print(f"Ready=False {took:.1f}s after the CRD was deleted")


def test_an_update_is_not_ready_until_its_runner_is(cluster: Cluster, namespace: str) -> None:
    _create(cluster, namespace, "upd", {"source": CONFIGMAPS, "actions": LOG})
    _wait(cluster, namespace, "upd")
    assert {c["observedGeneration"] for c in _conditions(cluster, namespace, "upd").values()} == {1}

    changed = {"source": CONFIGMAPS, "actions": [{"log": {"message": "changed, v2"}}]}
    _apply(cluster, namespace, "upd", changed)
    # right after apply: every condition is about generation 2, none a stale True of 1
    conditions = _conditions(cluster, namespace, "upd")
    assert {c["observedGeneration"] for c in conditions.values()} == {2}, conditions
    if conditions["Ready"]["status"] != "True":  # (the new runner may already have reported)
        assert conditions["Ready"]["reason"] == "RunnerStarting"
    row = _row(cluster, namespace, "upd")
    if row["READY"] == "True":  # only once the runner of generation 2 said so
        ready = _conditions(cluster, namespace, "upd")["Ready"]
        assert (ready["reason"], ready["observedGeneration"]) == ("Running", 2)
    # kubectl wait compares observedGeneration with metadata.generation
    _wait(cluster, namespace, "upd")
    conditions = _conditions(cluster, namespace, "upd")
    assert {c["observedGeneration"] for c in conditions.values()} == {2}
    assert conditions["Ready"]["reason"] == "Running"
    assert _row(cluster, namespace, "upd")["READY"] == "True"

    # an edit that bypasses the plugin is not rendered: not Ready, for generation 3
    cluster.kubectl(
        "patch",
        "trigger",
        "upd",
        "-n",
        namespace,
        "--type=merge",
        "-p",
        json.dumps({"spec": {"actions": [{"log": {"message": "edited"}}]}}),
    )
    assert _generation(cluster, namespace, "upd") == 3
    row = _row(cluster, namespace, "upd")  # the plugin sees the runner runs generation 2
    assert (row["READY"], row["REASON"]) == ("False", "SpecNotRendered")
    # the runner notices within its sync interval (30 s) and rewrites every condition
    wait_for(
        lambda: _conditions(cluster, namespace, "upd")["Ready"].get("observedGeneration") == 3,
        45,
        "the runner to report generation 3",
    )
    conditions = _conditions(cluster, namespace, "upd")
    assert {c["observedGeneration"] for c in conditions.values()} == {3}
    assert (conditions["Ready"]["status"], conditions["Ready"]["reason"]) == (
        "False",
        "SpecNotRendered",
    )
    assert _kubectl_row(cluster, namespace, "upd")["READY"] == "False"


def test_get_wide_shows_the_last_error_shortened(cluster: Cluster, namespace: str) -> None:
    cluster.kubectl("create", "configmap", "watched", "-n", namespace, "--from-literal=a=1")
    missing = "a-configmap-that-does-not-exist-" + "x" * 30
    spec = {
        "source": CONFIGMAPS,
        "actions": [
            {
                "patch": {
                    "target": {"apiVersion": "v1", "kind": "ConfigMap", "name": missing},
                    "patch": {"metadata": {"annotations": {"seen": "yes"}}},
                }
            }
        ],
    }
    _create(cluster, namespace, "fails", spec)
    _wait(cluster, namespace, "fails")
    assert "LAST ERROR" not in plugin(cluster, "get", "fails", "-n", namespace).stdout
    cluster.kubectl("patch", "configmap", "watched", "-n", namespace, "-p", '{"data":{"a":"2"}}')

    def last_error() -> dict[str, Any] | None:
        trig = get_or_none(cluster, "trigger", "fails", "-n", namespace) or {}
        return (trig.get("status") or {}).get("lastError")

    error = wait_for(last_error, 60, "status.lastError")
    assert error["summary"].startswith("patch: ") and len(error["summary"]) <= 80
    lines = plugin(cluster, "get", "fails", "-n", namespace, "-o", "wide").stdout.splitlines()
    header, row = lines
    cell = row[header.index("LAST ERROR") :].strip()
    assert cell.startswith("patch: ") and len(cell) <= 60, cell
    assert cell.endswith("\u2026")
    assert ("patch: " + " ".join(error["message"].split())).startswith(cell[:-1])
    # plain kubectl -o wide prints the runner's summary
    plain = cluster.kubectl("get", "trigger", "fails", "-n", namespace, "-o", "wide").stdout
    assert error["summary"] in plain
    # describe has it whole
    text = plugin(cluster, "describe", "fails", "-n", namespace).stdout
    assert missing in text


def test_derived_names_never_collide(cluster: Cluster, namespace: str) -> None:
    # namespace A, name "y-z" and namespace "A-y", name "z": trigger-A-y-z either way before
    other_ns = f"{namespace}-y"
    cluster.kubectl("create", "namespace", other_ns)
    try:
        submit(cluster, "create", namespace, "y-z", {"source": CONFIGMAPS, "actions": LOG})
        submit(cluster, "create", other_ns, "z", {"source": CONFIGMAPS, "actions": LOG})
        for ns, name in ((namespace, "y-z"), (other_ns, "z")):
            trig = get_or_none(cluster, "trigger", name, "-n", ns)
            assert trig is not None
            for kind in ("serviceaccount", "role", "rolebinding", "deployment"):
                obj = get_or_none(cluster, kind, f"trigger-{name}", "-n", ns)
                assert obj is not None, (kind, ns, name)
                (owner,) = obj["metadata"]["ownerReferences"]
                assert owner["uid"] == trig["metadata"]["uid"]
        # deleting one leaves the other whole
        plugin(cluster, "delete", "y-z", "-n", namespace)
        assert get_or_none(cluster, "deployment", "trigger-z", "-n", other_ns) is not None
    finally:
        cluster.kubectl("delete", "namespace", other_ns, "--wait=false", check=False)


def test_advice_never_says_to_delete_what_another_trigger_owns(
    cluster: Cluster, namespace: str
) -> None:
    # a ServiceAccount named as trigger "web"'s would be, labelled as trigger "other"'s
    labels = {
        "app.kubernetes.io/name": "kubectl-trigger",
        "app.kubernetes.io/managed-by": "kubectl-trigger",
        f"{GROUP}/trigger": "other",
        f"{GROUP}/trigger-namespace": namespace,
    }
    account = {
        "apiVersion": "v1",
        "kind": "ServiceAccount",
        "metadata": {"name": "trigger-web", "namespace": namespace, "labels": labels},
    }
    cluster.kubectl("create", "-f", "-", input=json.dumps(account))
    proc = submit(
        cluster, "create", namespace, "web", {"source": CONFIGMAPS, "actions": LOG}, check=False
    )
    assert proc.returncode != 0
    message = " ".join(proc.stderr.split())
    assert f"belongs to Trigger {namespace}/other" in message, message
    assert "another name" in message
    for advice in ("remove that object", "delete that object", "delete it", "kubectl delete"):
        assert advice not in message.lower(), message
    assert "Traceback" not in proc.stderr
    # nothing half-created, and the other trigger's object untouched
    assert get_or_none(cluster, "trigger", "web", "-n", namespace) is None
    kept = get_or_none(cluster, "serviceaccount", "trigger-web", "-n", namespace)
    assert kept is not None and kept["metadata"]["labels"] == labels


def test_a_cluster_trigger_tells_the_truth_too(cluster: Cluster, namespace: str) -> None:
    """The same for a ClusterTrigger (runner in the controlled namespace): kubectl wait
    after create and after apply, and a crash loop shown by get and plain kubectl."""
    name = f"ct-{namespace[-6:]}"
    source = {"resource": {"apiVersion": "v1", "kind": "ConfigMap", "namespaces": [namespace]}}

    def doc(message: str) -> str:
        return yaml.safe_dump(
            {
                "apiVersion": f"{GROUP}/v1alpha1",
                "kind": "ClusterTrigger",
                "metadata": {"name": name},
                "spec": {"source": source, "actions": [{"log": {"message": message}}]},
            }
        )

    def wait() -> None:
        proc = cluster.kubectl(
            "wait",
            f"clustertrigger/{name}",
            "--for=condition=Ready",
            "--timeout=90s",
            check=False,
        )
        assert proc.returncode == 0, proc.stderr

    def ready_condition() -> dict[str, Any]:
        obj = get_or_none(cluster, "clustertrigger", name) or {}
        return {c["type"]: c for c in obj["status"]["conditions"]}["Ready"]

    def row() -> dict[str, str]:
        lines = plugin(cluster, "get", "clustertrigger", name).stdout.splitlines()
        return _cells(lines)

    plugin(cluster, "create", "-f", "-", input=doc("v1"))
    try:
        wait()
        assert row()["READY"] == "True"
        plugin(cluster, "apply", "-f", "-", input=doc("v2"))
        assert ready_condition()["observedGeneration"] == 2
        wait()
        assert (ready_condition()["reason"], ready_condition()["observedGeneration"]) == (
            "Running",
            2,
        )
        deployment = f"deployment/clustertrigger-{name}"
        cluster.kubectl(
            "set", "env", deployment, "-n", "kubectl-trigger-system", "TRIGGER_SPEC={broken"
        )
        wait_for(lambda: row()["REASON"] == "CrashLoopBackOff", 90, "get: CrashLoopBackOff")
        plain = _cells(cluster.kubectl("get", "clustertrigger", name).stdout.splitlines())
        assert (plain["READY"], plain["REASON"]) == ("False", "RunnerFailed"), plain
    finally:
        plugin(cluster, "delete", "clustertrigger", name, check=False)


def test_a_replaced_runners_last_word_does_not_stay(cluster: Cluster, namespace: str) -> None:
    """With no controller, a runner pod being replaced writes ``RunnerStopped`` when it stops;
    landing after its successor's ``Ready=True``, it must not stay: the working runner sees,
    at its next read of the Trigger (within 30 s), that another wrote, and writes its own."""
    _create(cluster, namespace, "heal", {"source": CONFIGMAPS, "actions": LOG})
    _wait(cluster, namespace, "heal")
    written = _conditions(cluster, namespace, "heal")
    stopped = {
        **written["Ready"],
        "status": "False",
        "reason": "RunnerStopped",
        "message": "the runner stopped (its pod is being replaced or deleted)",
    }
    late = {"status": {"conditions": [stopped, written["Watching"], written["SpecInSync"]]}}
    cluster.kubectl(
        "patch", "trigger", "heal", "-n", namespace, "--subresource=status", "--type=merge",
        "-p", json.dumps(late),
    )  # fmt: skip
    assert _conditions(cluster, namespace, "heal")["Ready"]["reason"] == "RunnerStopped"
    wait_for(
        lambda: _conditions(cluster, namespace, "heal")["Ready"]["status"] == "True",
        60,
        "the working runner to write Ready=True again",
    )
    ready = _conditions(cluster, namespace, "heal")["Ready"]
    assert (ready["reason"], ready["observedGeneration"]) == ("Running", 1)
    assert _kubectl_row(cluster, namespace, "heal")["READY"] == "True"
