"""Helpers for the runner's end-to-end tests: a real ``python -m runner`` and what it did.

The runner runs as a real subprocess (``python -m runner --trigger NS/NAME``)
inside the runner image this checkout builds (runner_image: its rootfs, read-only,
as user 65532, host network), with the test cluster's admin kubeconfig and JSON
logs. So every runner test exercises what a cluster would pull. The one thing the
harness adds to the image is PyYAML, mounted read-only beside the kubeconfig: the
runner reads a kubeconfig (YAML) only outside a cluster, and the image, made for
pods, leaves PyYAML out. Its action runs are
read back from its own log lines (``action ... ran for``, with ``event``,
``key`` and ``rv`` fields), so tests can count exact (event, object,
resourceVersion) triples; its counters come from ``/metrics``.
"""

from __future__ import annotations

import base64
import json
import os
import signal
import subprocess
import time
import urllib.error
import urllib.request
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import yaml

from runner_image import build as image_build
from runner_image.sandbox import Rootfs, SandboxedProcess
from tests.conftest import Cluster
from tests.polling import wait_for

REPO = Path(__file__).resolve().parents[2]
CRD_NAME = "triggers.triggers.kubectl-trigger.dev"
API_VERSION = "triggers.kubectl-trigger.dev/v1alpha1"
Fired = tuple[str, str, str]  # (event, key, resourceVersion)
LOG_ACTION = {"log": {"message": "{{ .event }} {{ .object.metadata.name }}"}}


def runner_env() -> dict[str, str]:
    """A host runner's environment: JSON logs, a free metrics port, this checkout importable."""
    return {
        **os.environ,
        "RUNNER_METRICS_ADDRESS": "127.0.0.1:0",
        "LOG_FORMAT": "json",
        "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])),
    }


#: Where the harness mounts its files inside the sandbox (a private tmpfs).
SANDBOX_KUBECONFIG = "/tmp/kt-e2e/kubeconfig"
SANDBOX_SITE = "/tmp/kt-e2e/site"


def image_rootfs() -> Rootfs:
    """The runner image for this checkout's runner/ (cached by content; rebuilt if it changed)."""
    return image_build.ensure_image().rootfs


def image_env() -> dict[str, str]:
    """The environment inside the image: JSON logs, a free metrics port, PyYAML importable."""
    return {
        "RUNNER_METRICS_ADDRESS": "127.0.0.1:0",
        "LOG_FORMAT": "json",
        "PYTHONPATH": SANDBOX_SITE,
    }


def self_contained_kubeconfig(source: str, dest: Path) -> Path:
    """``source`` with its certificate and key files inlined (the sandbox sees no host paths)."""
    doc = yaml.safe_load(Path(source).read_text())
    inline = {
        "certificate-authority": "certificate-authority-data",
        "client-certificate": "client-certificate-data",
        "client-key": "client-key-data",
    }
    for section, body in (("clusters", "cluster"), ("users", "user")):
        for item in doc.get(section) or []:
            fields = item.get(body) or {}
            for path_key, data_key in inline.items():
                if path_key in fields:
                    data = Path(fields.pop(path_key)).read_bytes()
                    fields[data_key] = base64.b64encode(data).decode()
    dest.write_text(yaml.safe_dump(doc, sort_keys=False))
    return dest


def start_in_image(
    args: list[str], kubeconfig: str, workdir: Path, **popen: Any
) -> subprocess.Popen[bytes]:
    """``python -m runner --kubeconfig K ARGS`` in the runner image; signals reach the runner."""
    flat = self_contained_kubeconfig(kubeconfig, workdir / "kubeconfig.inlined")
    binds = [
        (flat, SANDBOX_KUBECONFIG),
        (Path(yaml.__file__).parent, f"{SANDBOX_SITE}/yaml"),
    ]
    command = ["python", "-m", "runner", "--kubeconfig", SANDBOX_KUBECONFIG, *args]
    return SandboxedProcess(image_rootfs(), command, image_env(), binds=binds, **popen)


def run_in_image(
    args: list[str], kubeconfig: str, workdir: Path, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    """``python -m runner --kubeconfig K ARGS`` in the runner image, to completion."""
    proc = start_in_image(args, kubeconfig, workdir, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
        raise
    return subprocess.CompletedProcess(proc.args, proc.returncode, out.decode(), err.decode())


class Runner:
    """One ``python -m runner`` subprocess, run from the runner image, and what it logged."""

    def __init__(
        self, cluster: Cluster, namespace: str, name: str, log_dir: Path, kind: str = "Trigger"
    ) -> None:
        self.cluster = cluster
        self.ref = f"{namespace}/{name}"
        # a ClusterTrigger: by name, with ``namespace`` as its home (Secrets, Events)
        self.target = (
            ["--trigger", self.ref]
            if kind == "Trigger"
            else ["--cluster-trigger", name, "--home-namespace", namespace]
        )
        self.log_dir = log_dir
        self.proc: subprocess.Popen[bytes] | None = None
        self.runs = 0
        self.log_path = log_dir / "runner-0.log"

    def start(self) -> Runner:
        self.runs += 1
        self.log_path = self.log_dir / f"runner-{self.runs}.log"
        with open(self.log_path, "wb") as out:
            self.proc = start_in_image(
                self.target,
                self.cluster.kubeconfig,
                self.log_dir,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        return self

    def lines(self, all_runs: bool = True) -> list[dict[str, Any]]:
        paths = sorted(self.log_dir.glob("runner-*.log")) if all_runs else [self.log_path]
        result = []
        for path in paths:
            for line in path.read_text().splitlines():
                try:
                    result.append(json.loads(line))
                except ValueError:
                    result.append({"message": line, "level": "raw"})
        return result

    def fired(self) -> Counter[Fired]:
        """Action runs so far, over every run of this runner."""
        return Counter(
            (line["event"], line["key"], line["rv"])
            for line in self.lines()
            if line.get("logger") == "runner.delivery" and "ran for" in line.get("message", "")
        )

    def port(self) -> int:
        def find() -> int | None:
            for line in self.lines(all_runs=False):
                if "metrics_address" in line:
                    return int(str(line["metrics_address"]).rsplit(":", 1)[1])
            self._check_alive()
            return None

        return wait_for(find, 15, "the runner to log its metrics address")

    def http(self, path: str) -> tuple[int, str]:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port()}{path}", timeout=5) as r:
                return r.status, r.read().decode()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read().decode()

    def wait_ready(self) -> None:
        wait_for(lambda: self.http("/readyz")[0] == 200, 30, "/readyz to answer 200")

    def kill(self, sig: int = signal.SIGKILL) -> int:
        assert self.proc is not None
        self.proc.send_signal(sig)
        return self.proc.wait(30)

    def _check_alive(self) -> None:
        if self.proc is not None and self.proc.poll() is not None:
            pytest.fail(
                f"the runner exited {self.proc.returncode}:\n{self.log_path.read_text()[-3000:]}"
            )


def make_trigger(
    cluster: Cluster,
    namespace: str,
    name: str,
    source: dict[str, Any],
    *,
    actions: list[dict[str, Any]] | None = None,
    options: dict[str, Any] | None = None,
) -> None:
    """Create a Trigger on ``source``; by default its one action logs the event."""
    spec: dict[str, Any] = {"source": {"resource": source}, "actions": actions or [LOG_ACTION]}
    if options:
        spec["options"] = options
    body = {
        "apiVersion": API_VERSION,
        "kind": "Trigger",
        "metadata": {"name": name, "namespace": namespace},
        "spec": spec,
    }
    cluster.kubectl("create", "-f", "-", input=json.dumps(body))


def status(cluster: Cluster, namespace: str, name: str) -> dict[str, Any]:
    """The status of Trigger ``namespace/name``, else of ClusterTrigger ``name``."""
    proc = cluster.kubectl("get", "trigger", name, "-n", namespace, "-o", "json", check=False)
    if proc.returncode == 0:
        trig = json.loads(proc.stdout)
    else:
        trig = cluster.get_json("clustertrigger", name)
    return dict(trig.get("status") or {})


def rv_of(cluster: Cluster, namespace: str, name: str) -> str:
    return str(cluster.get_json("configmap", name, "-n", namespace)["metadata"]["resourceVersion"])


def create_cm(cluster: Cluster, namespace: str, name: str, value: str = "1") -> str:
    cluster.kubectl("create", "configmap", name, "-n", namespace, f"--from-literal=k={value}")
    return rv_of(cluster, namespace, name)


def patch_cm(cluster: Cluster, namespace: str, name: str, value: str) -> str:
    out = cluster.kubectl(
        "patch",
        "configmap",
        name,
        "-n",
        namespace,
        "-p",
        json.dumps({"data": {"k": value}}),
        "-o",
        "jsonpath={.metadata.resourceVersion}",
    )
    return out.stdout.strip()


def label_cm(cluster: Cluster, namespace: str, name: str, label: str) -> str:
    cluster.kubectl("label", "configmap", name, "-n", namespace, label, "--overwrite")
    return rv_of(cluster, namespace, name)


def delete_cm(cluster: Cluster, namespace: str, name: str) -> None:
    cluster.kubectl("delete", "configmap", name, "-n", namespace, "--wait=false")


def settle(runner: Runner, expected: Counter[Fired], what: str) -> None:
    """Wait until exactly ``expected`` has fired, then make sure nothing more comes."""
    wait_for(lambda: runner.fired() == expected or None, 30, f"{what}: {dict(expected)}")
    time.sleep(1.5)
    assert runner.fired() == expected


def metric(runner: Runner, name: str) -> float:
    """One of the runner's ``kubectl_trigger_runner_*`` values (-1 when it is not exported)."""
    for line in runner.http("/metrics")[1].splitlines():
        if line.startswith(f"kubectl_trigger_runner_{name}{{"):
            return float(line.rsplit(" ", 1)[1])
    return -1.0
