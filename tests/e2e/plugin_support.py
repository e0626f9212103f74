"""Helpers for the plugin's end-to-end tests: run the real CLI as a subprocess.

The plugin runs as a user runs it: the installed ``kubectl-trigger`` script
beside this Python when there is one (pip install -e .), else
``python -m kubectl_trigger``; always with the test cluster's KUBECONFIG.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import Cluster

REPO = Path(__file__).resolve().parents[2]
FAKE_IMAGE = "registry.example/kubectl-trigger/runner:kwok"  # kwok simulates it; nothing runs
GROUP = "triggers.kubectl-trigger.dev"


def plugin_argv() -> list[str]:
    """How to start the plugin."""
    script = Path(sys.executable).parent / "kubectl-trigger"
    return [str(script)] if script.exists() else [sys.executable, "-m", "kubectl_trigger"]


def plugin(
    cluster: Cluster, *args: str, input: str | None = None, check: bool = True, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """Run ``kubectl-trigger ARGS`` against the test cluster."""
    env = {**os.environ, "KUBECONFIG": cluster.kubeconfig, "COLUMNS": "200"}
    proc = subprocess.run(
        [*plugin_argv(), *args],
        input=input,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
        cwd=REPO,
        check=False,
    )
    if check and proc.returncode != 0:
        pytest.fail(
            f"kubectl-trigger {' '.join(args)} exited {proc.returncode}\n"
            f"stdout:\n{proc.stdout}\nstderr:\n{proc.stderr}"
        )
    return proc


def submit(
    cluster: Cluster, verb: str, namespace: str, name: str, spec: dict[str, Any], check: bool = True
) -> subprocess.CompletedProcess[str]:
    """``kubectl trigger create|apply -f -`` of one Trigger, its runner on the simulated image."""
    return submit_text(cluster, verb, namespace, trigger_yaml(name, spec), check=check)


def submit_text(
    cluster: Cluster, verb: str, namespace: str, text: str, check: bool = True
) -> subprocess.CompletedProcess[str]:
    """``kubectl trigger create|apply -f -`` of a YAML text, runners on the simulated image."""
    return plugin(
        cluster, verb, "-f", "-", "-n", namespace, "--image", FAKE_IMAGE, input=text, check=check
    )


def trigger_yaml(name: str, spec: dict[str, Any], namespace: str | None = None) -> str:
    """A Trigger document."""
    meta: dict[str, Any] = {"name": name}
    if namespace:
        meta["namespace"] = namespace
    return yaml.safe_dump(
        {"apiVersion": f"{GROUP}/v1alpha1", "kind": "Trigger", "metadata": meta, "spec": spec},
        sort_keys=False,
    )


def get_or_none(cluster: Cluster, *args: str) -> dict[str, Any] | None:
    """``kubectl get ARGS -o json`` or None when it does not exist."""
    proc = cluster.kubectl("get", *args, "-o", "json", check=False)
    if proc.returncode != 0:
        assert "NotFound" in proc.stderr or "not found" in proc.stderr, proc.stderr
        return None
    return dict(json.loads(proc.stdout))


def labelled(cluster: Cluster, kinds: str, namespace: str, trigger: str) -> list[dict[str, Any]]:
    """Objects of ``kinds`` (kubectl syntax, comma-separated) derived from a Trigger."""
    selector = f"{GROUP}/trigger={trigger},{GROUP}/trigger-namespace={namespace}"
    out = cluster.kubectl("get", kinds, "-A", "-l", selector, "-o", "json").stdout
    return list(json.loads(out)["items"])


def running_pod(cluster: Cluster, namespace: str, trigger: str) -> dict[str, Any] | None:
    """The Trigger's runner pod once Running and Ready, else None."""
    for pod in labelled(cluster, "pods", namespace, trigger):
        status = pod.get("status") or {}
        ready = any(
            c.get("type") == "Ready" and c.get("status") == "True"
            for c in status.get("conditions") or []
        )
        if (
            status.get("phase") == "Running"
            and ready
            and not pod["metadata"].get("deletionTimestamp")
        ):
            return pod
    return None


@pytest.fixture(scope="session")
def installed(cluster: Cluster) -> Cluster:
    """The cluster with the Trigger CRDs installed by ``kubectl-trigger install``."""
    proc = plugin(cluster, "install")
    assert "triggers.triggers.kubectl-trigger.dev applied" in proc.stdout
    return cluster
