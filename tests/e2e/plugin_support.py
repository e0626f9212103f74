"""Helpers for the plugin's end-to-end tests: run the real CLI as a subprocess.

The plugin runs as a user runs it: the installed ``kubectl-trigger`` script
beside this Python when there is one (pip install -e .), else
``python -m kubectl_trigger``; always with the test cluster's KUBECONFIG.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
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


class ForegroundRun:
    """``kubectl trigger run -f -`` in the foreground, reading its JSON log as it goes.

    Start it with ``with ForegroundRun(env, args, trigger_text) as run:``; leaving the
    block kills it if ``stop`` was not reached.
    """

    def __init__(self, env: dict[str, str], args: list[str], trigger_text: str) -> None:
        self.proc = subprocess.Popen(
            [*plugin_argv(), "run", "-f", "-", *args],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env={**env, "LOG_FORMAT": "json"},
        )
        assert self.proc.stdin and self.proc.stdout
        self.proc.stdin.write(trigger_text)
        self.proc.stdin.close()
        self.lines: list[str] = []  # everything printed, JSON or not
        self.messages: list[str] = []  # the ``message`` of each JSON log line

    def read_until(self, start: str, timeout: float = 40) -> str:
        """The first new log message starting with ``start``; fail showing what was logged."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            line = self.proc.stdout.readline()  # type: ignore[union-attr]
            if not line:
                break
            self.lines.append(line)
            if line.startswith("{"):
                self.messages.append(json.loads(line)["message"])
                if self.messages[-1].startswith(start):
                    return self.messages[-1]
        pytest.fail(f"the runner never logged {start!r}; it printed:\n{''.join(self.lines)}")

    def stop(self) -> int:
        """Ctrl-C, as a user stops it; the exit code."""
        self.proc.send_signal(signal.SIGINT)
        return self.proc.wait(30)

    def __enter__(self) -> ForegroundRun:
        return self

    def __exit__(self, *exc: object) -> None:
        self.proc.kill()
        self.proc.wait(30)
        self.proc.stdout.close()  # type: ignore[union-attr]


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
