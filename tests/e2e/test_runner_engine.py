"""The runner engine against the real API server: exact action counts, restarts, status, metrics.

The runner runs as a real subprocess (``python -m runner --trigger NS/NAME``)
with the test cluster's admin kubeconfig. Its ``log`` action's runs are counted
from the runner's own JSON log lines (``action ... ran for``, with ``event``,
``key`` and ``rv`` fields), so every assertion is about exact (event, object,
resourceVersion) triples.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest

from tests.conftest import Cluster

pytestmark = pytest.mark.e2e

T = TypeVar("T")
REPO = Path(__file__).resolve().parents[2]
CRD_NAME = "triggers.triggers.kubectl-trigger.dev"
API_VERSION = "triggers.kubectl-trigger.dev/v1alpha1"
Fired = tuple[str, str, str]  # (event, key, resourceVersion)


def wait_for(check: Callable[[], T | None], timeout: float, what: str) -> T:
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.1)


def runner_env() -> dict[str, str]:
    """The runner's environment: JSON logs, a free metrics port, this checkout importable."""
    return {
        **os.environ,
        "RUNNER_METRICS_ADDRESS": "127.0.0.1:0",
        "LOG_FORMAT": "json",
        "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])),
    }


@pytest.fixture(scope="module")
def crd(cluster: Cluster) -> Cluster:
    """The Trigger CRD (from manifests/crd.yaml), established."""
    if cluster.kubectl("get", "crd", CRD_NAME, check=False).returncode != 0:
        cluster.kubectl("apply", "-f", str(REPO / "manifests" / "crd.yaml"))
    cluster.kubectl("wait", "--for=condition=Established", f"crd/{CRD_NAME}", "--timeout=60s")
    return cluster


class Runner:
    """One ``python -m runner`` subprocess and what it logged."""

    def __init__(self, cluster: Cluster, namespace: str, name: str, log_dir: Path) -> None:
        self.cluster = cluster
        self.ref = f"{namespace}/{name}"
        self.log_dir = log_dir
        self.proc: subprocess.Popen[bytes] | None = None
        self.runs = 0
        self.log_path = log_dir / "runner-0.log"

    def start(self) -> Runner:
        self.runs += 1
        self.log_path = self.log_dir / f"runner-{self.runs}.log"
        env = runner_env()
        with open(self.log_path, "wb") as out:
            self.proc = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "runner",
                    "--kubeconfig",
                    self.cluster.kubeconfig,
                    "--trigger",
                    self.ref,
                ],
                stdout=out,
                stderr=subprocess.STDOUT,
                env=env,
                cwd=REPO,
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


def make_trigger(cluster: Cluster, namespace: str, name: str, source: dict[str, Any]) -> None:
    body = {
        "apiVersion": API_VERSION,
        "kind": "Trigger",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {
            "source": {"resource": source},
            "actions": [{"log": {"message": "{{ .event }} {{ .object.metadata.name }}"}}],
        },
    }
    cluster.kubectl("create", "-f", "-", input=json.dumps(body))


def status(cluster: Cluster, namespace: str, name: str) -> dict[str, Any]:
    trig = cluster.get_json("trigger", name, "-n", namespace)
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


@pytest.fixture
def runner(crd: Cluster, namespace: str, tmp_path: Path) -> Iterator[Runner]:
    handle = Runner(crd, namespace, "engine", tmp_path)
    yield handle
    if handle.proc is not None and handle.proc.poll() is None:
        handle.kill(signal.SIGTERM)


def settle(runner: Runner, expected: Counter[Fired], what: str) -> None:
    """Wait until exactly ``expected`` has fired, then make sure nothing more comes."""
    wait_for(lambda: runner.fired() == expected or None, 30, f"{what}: {dict(expected)}")
    time.sleep(1.5)
    assert runner.fired() == expected


def test_runner_fires_exactly_once_per_change_and_reports(
    crd: Cluster, namespace: str, runner: Runner
) -> None:
    ns = namespace
    create_cm(crd, ns, "a")
    create_cm(crd, ns, "b")
    make_trigger(
        crd, ns, "engine", {"apiVersion": "v1", "kind": "ConfigMap", "changed": ["{.data}"]}
    )
    runner.start().wait_ready()
    time.sleep(1)
    assert runner.fired() == Counter()  # existing objects do not fire at start-up

    expected: Counter[Fired] = Counter()
    rv = create_cm(crd, ns, "c")
    expected[("create", f"{ns}/c", rv)] += 1
    settle(runner, expected, "the create")
    rv = patch_cm(crd, ns, "a", "2")
    expected[("update", f"{ns}/a", rv)] += 1
    settle(runner, expected, "the data change")
    label_cm(crd, ns, "b", "x=y")  # a label-only change: {.data} did not change
    time.sleep(1.5)
    assert runner.fired() == expected
    delete_cm(crd, ns, "c")
    wait_for(lambda: any(k[0] == "delete" for k in runner.fired()), 30, "the delete")
    deleted = [k for k in runner.fired() if k[0] == "delete"]
    assert [(k[0], k[1]) for k in deleted] == [("delete", f"{ns}/c")]
    expected[deleted[0]] += 1
    settle(runner, expected, "the delete")

    # a forced relist (SIGUSR1) finds nothing new: no duplicates
    assert runner.proc is not None
    runner.proc.send_signal(signal.SIGUSR1)
    wait_for(
        lambda: (
            "kubectl_trigger_runner_relists_total{" in runner.http("/metrics")[1]
            and _metric(runner, "relists_total") >= 1
        ),
        20,
        "the relist",
    )
    time.sleep(1)
    assert runner.fired() == expected

    def counters_caught_up() -> dict[str, Any] | None:
        st = status(crd, ns, "engine")
        counters = st.get("counters") or {}
        return st if counters.get("actionsSucceeded") == 3 else None

    st = wait_for(counters_caught_up, 15, "status.counters to show 3 actions")
    assert st["counters"]["eventsMatched"] == 3 and st["counters"]["actionsFailed"] == 0
    conditions = {c["type"]: c["status"] for c in st["conditions"]}
    assert conditions == {"Ready": "True", "Watching": "True"}
    assert st["lastFired"] and st["checkpoint"]["resourceVersions"][ns]
    assert _metric(runner, "events_matched_total") == 3
    assert _metric(runner, "actions_succeeded_total") == 3
    assert runner.http("/healthz") == (200, "ok\n")

    assert runner.kill(signal.SIGTERM) == 0  # graceful
    final = status(crd, ns, "engine")
    assert {c["type"]: c["status"] for c in final["conditions"]}["Watching"] == "False"


def test_changes_while_killed_fire_exactly_once_after_restart(
    crd: Cluster, namespace: str, runner: Runner
) -> None:
    ns = namespace
    for name in ("a", "b", "c", "d"):
        create_cm(crd, ns, name)
    make_trigger(
        crd, ns, "engine", {"apiVersion": "v1", "kind": "ConfigMap", "changed": ["{.data}"]}
    )
    runner.start().wait_ready()
    expected: Counter[Fired] = Counter()
    rv = patch_cm(crd, ns, "a", "2")
    expected[("update", f"{ns}/a", rv)] += 1
    settle(runner, expected, "the first update")
    # the checkpoint must have moved past what was handled before the kill
    wait_for(
        lambda: (
            int(
                (status(crd, ns, "engine").get("checkpoint") or {})
                .get("resourceVersions", {})
                .get(ns, 0)
            )
            >= int(rv)
        ),
        15,
        "the checkpoint to pass the handled update",
    )
    runner.kill(signal.SIGKILL)

    # while down: an update, a delete, a create, a label-only change, two updates of one object
    rv_a = patch_cm(crd, ns, "a", "3")
    delete_cm(crd, ns, "b")
    rv_e = create_cm(crd, ns, "e")
    label_cm(crd, ns, "c", "only=labels")
    patch_cm(crd, ns, "d", "2")
    rv_d = patch_cm(crd, ns, "d", "3")

    runner.start().wait_ready()
    expected[("update", f"{ns}/a", rv_a)] += 1
    expected[("create", f"{ns}/e", rv_e)] += 1
    expected[("update", f"{ns}/d", rv_d)] += 1  # the newest state, once

    def caught_up() -> bool:
        fired = runner.fired()
        return all(fired[k] for k in expected) and any(k[0] == "delete" for k in fired)

    wait_for(caught_up, 30, "the catch-up")
    time.sleep(2)
    fired = runner.fired()
    deletes = [k for k in fired if k[0] == "delete"]
    assert [(k[0], k[1], fired[k]) for k in deletes] == [("delete", f"{ns}/b", 1)]
    expected[deletes[0]] += 1
    assert fired == expected

    # and after the catch-up the watch goes on as usual
    rv = patch_cm(crd, ns, "c", "9")
    expected[("update", f"{ns}/c", rv)] += 1
    settle(runner, expected, "an update after the catch-up")


def test_invalid_spec_exits_2_and_sets_ready_false(
    crd: Cluster, namespace: str, tmp_path: Path
) -> None:
    body = {
        "apiVersion": API_VERSION,
        "kind": "Trigger",
        "metadata": {"name": "broken", "namespace": namespace},
        "spec": {
            "source": {"resource": {"apiVersion": "v1", "kind": "ConfigMap"}},
            "filters": [{"path": "{.metadata.labels[", "exists": True}],
            "actions": [{"log": {"message": "x"}}],
        },
    }
    crd.kubectl("create", "-f", "-", input=json.dumps(body))
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "runner",
            "--kubeconfig",
            crd.kubeconfig,
            "--trigger",
            f"{namespace}/broken",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=REPO,
        env=runner_env(),
    )
    assert proc.returncode == 2, proc.stderr
    assert "spec.filters[0]" in proc.stderr
    ready = {c["type"]: c for c in status(crd, namespace, "broken")["conditions"]}["Ready"]
    assert (ready["status"], ready["reason"]) == ("False", "SpecInvalid")
    assert "spec.filters[0]" in ready["message"]


def _metric(runner: Runner, name: str) -> float:
    for line in runner.http("/metrics")[1].splitlines():
        if line.startswith(f"kubectl_trigger_runner_{name}{{"):
            return float(line.rsplit(" ", 1)[1])
    return -1.0
