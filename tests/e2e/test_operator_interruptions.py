"""An operator presses Ctrl-C in the middle of ``kubectl trigger create -f`` of many triggers.

Before, the interrupt was swallowed by the worker pool: the command went on writing every
trigger, printed nothing and exited 130, so an operator who aborted a create into the
wrong namespace got all of it. Now it stops what has not started, finishes the triggers
being written (each is all or nothing), says which were not written, exits 130, and
``apply -f`` of the same file converges.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.conftest import Cluster
from tests.e2e.plugin_support import (
    FAKE_IMAGE,
    GROUP,
    REPO,
    installed,  # noqa: F401 - fixture
    plugin,
    plugin_argv,
)
from tests.polling import wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("installed")]

COUNT = 40


def _file(tmp_path: Path) -> Path:
    spec = {
        "source": {"resource": {"apiVersion": "v1", "kind": "ConfigMap", "events": ["update"]}},
        "actions": [{"log": {"message": "changed {{ .object.metadata.name }}"}}],
    }
    docs = [
        {
            "apiVersion": f"{GROUP}/v1alpha1",
            "kind": "Trigger",
            "metadata": {"name": f"t{i}"},
            "spec": spec,
        }
        for i in range(COUNT)
    ]
    path = tmp_path / "many.yaml"
    path.write_text(yaml.safe_dump_all(docs))
    return path


def _whole_and_partial(cluster: Cluster, namespace: str) -> tuple[set[str], dict[str, list[str]]]:
    """Triggers present, and for each present one the derived kinds it lacks."""
    triggers = {
        o["metadata"]["name"] for o in cluster.get_json("triggers", "-n", namespace)["items"]
    }
    missing: dict[str, list[str]] = {}
    for kind in ("serviceaccounts", "roles", "rolebindings", "deployments"):
        names = {o["metadata"]["name"] for o in cluster.get_json(kind, "-n", namespace)["items"]}
        for trig in triggers:
            if f"trigger-{trig}" not in names:
                missing.setdefault(trig, []).append(kind)
    return triggers, missing


def test_ctrl_c_during_create_stops_writes_whole_triggers_and_apply_converges(
    cluster: Cluster, namespace: str, tmp_path: Path
) -> None:
    path = _file(tmp_path)
    proc = subprocess.Popen(
        [*plugin_argv(), "create", "-f", str(path), "-n", namespace, "--image", FAKE_IMAGE],
        env={**os.environ, "KUBECONFIG": cluster.kubeconfig},
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),  # as from a terminal
    )
    try:
        wait_for(
            lambda: cluster.get_json("triggers", "-n", namespace)["items"],
            60,
            "the first Trigger to be written",
        )
        proc.send_signal(signal.SIGINT)
        _, stderr = proc.communicate(timeout=120)
    finally:
        proc.kill()

    assert proc.returncode == 130, stderr
    assert "Traceback" not in stderr
    triggers, missing = _whole_and_partial(cluster, namespace)
    assert missing == {}, f"half-written triggers after Ctrl-C: {missing}"
    assert 0 < len(triggers) < COUNT, f"{len(triggers)} of {COUNT} written: Ctrl-C did not stop it"
    not_written = COUNT - len(triggers)
    assert f"interrupted: {not_written} of {COUNT} triggers were not written" in stderr, stderr
    assert "kubectl trigger apply -f" in stderr

    plugin(cluster, "apply", "-f", str(path), "-n", namespace, "--image", FAKE_IMAGE)
    triggers, missing = _whole_and_partial(cluster, namespace)
    assert (len(triggers), missing) == (COUNT, {})


def test_a_deleted_controlled_namespace_is_named_and_install_then_apply_recovers(
    cluster: Cluster, namespace: str
) -> None:
    """An operator deletes the controlled namespace under a running ClusterTrigger: apply
    says which namespace is gone and to run install (exit 3, nothing written; before, the
    API server's bare 'namespaces ... not found'); install, then apply, brings the runner back."""
    system = f"{namespace[:40]}-sys"
    name = f"gone-{namespace[-6:]}"
    spec = {
        "source": {"resource": {"apiVersion": "v1", "kind": "Namespace", "events": ["create"]}},
        "actions": [{"log": {"message": "new namespace {{ .object.metadata.name }}"}}],
    }
    ct = yaml.safe_dump(
        {
            "apiVersion": f"{GROUP}/v1alpha1",
            "kind": "ClusterTrigger",
            "metadata": {"name": name},
            "spec": spec,
        }
    )
    try:
        plugin(cluster, "install", "--system-namespace", system)
        plugin(cluster, "create", "-f", "-", "--image", FAKE_IMAGE, input=ct)
        cluster.kubectl("delete", "namespace", system, "--timeout=120s")

        again = plugin(cluster, "apply", "-f", "-", "--image", FAKE_IMAGE, input=ct, check=False)
        assert again.returncode == 3, again.stderr
        assert f"the controlled namespace {system}" in again.stderr, again.stderr
        assert "kubectl trigger install" in again.stderr
        assert "Traceback" not in again.stderr

        plugin(cluster, "install", "--system-namespace", system)
        plugin(cluster, "apply", "-f", "-", "--image", FAKE_IMAGE, input=ct)
        runner = cluster.get_json("deployment", f"clustertrigger-{name}", "-n", system)
        assert runner["metadata"]["ownerReferences"][0]["name"] == name
    finally:
        plugin(cluster, "delete", f"clustertrigger/{name}", "--ignore-not-found", check=False)
        back = plugin(cluster, "install", check=False)
        assert back.returncode == 0, back.stderr
        cluster.kubectl("delete", "namespace", system, "--wait=false", "--ignore-not-found")


def test_a_trigger_whose_runner_never_came_says_so_and_apply_renders_it(
    cluster: Cluster, namespace: str, tmp_path: Path
) -> None:
    """create killed between the Trigger and its Deployment (here: the Deployment deleted)
    left READY False RunnerStarting for ever; past a minute with no runner pod it is
    NoRunnerPod, describe says apply -f renders it, and apply does."""
    path = tmp_path / "one.yaml"
    path.write_text(yaml.safe_dump_all(list(yaml.safe_load_all(_file(tmp_path).read_text()))[:1]))
    plugin(cluster, "create", "-f", str(path), "-n", namespace, "--image", FAKE_IMAGE)
    cluster.kubectl("delete", "deployment", "trigger-t0", "-n", namespace, "--cascade=foreground")
    wait_for(
        lambda: not cluster.get_json("pods", "-n", namespace)["items"], 60, "the runner pod gone"
    )
    # the minute of grace, passed: the condition create wrote, a few minutes older
    trig = cluster.get_json("trigger", "t0", "-n", namespace)
    conditions = trig["status"]["conditions"]
    for cond in conditions:
        cond["lastTransitionTime"] = "2020-01-01T00:00:00Z"
    cluster.kubectl(
        "patch", "trigger", "t0", "-n", namespace, "--subresource=status", "--type=merge",
        "-p", json.dumps({"status": {"conditions": conditions}}),
    )  # fmt: skip

    rows = plugin(cluster, "get", "-n", namespace).stdout.splitlines()
    header, row = rows[0].split(), rows[1].split()
    assert dict(zip(header, row, strict=False))["REASON"] == "NoRunnerPod", rows
    described = plugin(cluster, "describe", "t0", "-n", namespace).stdout
    assert "kubectl trigger apply -f renders it again" in described, described

    plugin(cluster, "apply", "-f", str(path), "-n", namespace, "--image", FAKE_IMAGE)
    assert cluster.get_json("deployment", "trigger-t0", "-n", namespace)["metadata"]["name"]
