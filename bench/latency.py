"""Event-to-action latency and sustained throughput of a real runner.

What it measures, against the local control plane (or $KUBECONFIG):

* latency: ConfigMaps are updated at a fixed rate; the trigger's webhook
  action posts to a local HTTP receiver. Latency is the time from the update
  request being sent to the webhook arriving. A bare watch client (a thread
  doing nothing but watch) is measured in the same run, so the runner's figure
  can be read as a ratio against the floor the API server itself sets.
* throughput: the same at a high rate for a fixed time; lag over time shows
  whether the runner keeps up, and the receiver counts every
  (object, resourceVersion) so lost and duplicated actions are exact.

Prints its figures and merges them into bench/results.json under "latency".
Usage: python bench/latency.py [--rate 100] [--seconds 20] [--objects 50]
       [--throughput-rate 1000] [--throughput-seconds 60]
"""

from __future__ import annotations

import argparse
import collections
import json
import multiprocessing
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench.results import merge_results  # noqa: E402
from runner.kube.client import KubeClient  # noqa: E402


class Receiver(ThreadingHTTPServer):
    """A webhook receiver that timestamps every request it gets."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.arrivals: list[tuple[str, str, float]] = []  # (name, rv, arrival time)
        self.lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/hook"


class _Handler(BaseHTTPRequestHandler):
    server: Receiver

    def do_POST(self) -> None:
        now = time.monotonic()
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        with self.server.lock:
            self.server.arrivals.append((body["name"], body["rv"], now))
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


class BareWatcher(threading.Thread):
    """The floor: a plain watch that only timestamps what it sees."""

    def __init__(self, client: KubeClient, namespace: str, rv: str) -> None:
        super().__init__(daemon=True)
        self.client, self.namespace, self.rv = client, namespace, rv
        self.seen: dict[tuple[str, str], float] = {}
        self.stop = False

    def run(self) -> None:
        info = self.client.resource("v1", "ConfigMap")
        while not self.stop:
            for event in self.client.watch(
                info, self.namespace, resource_version=self.rv, timeout_seconds=30
            ):
                meta = event["object"]["metadata"]
                self.rv = meta["resourceVersion"]
                if event["type"] == "MODIFIED":
                    self.seen[(meta["name"], meta["resourceVersion"])] = time.monotonic()
                if self.stop:
                    return


def trigger_spec(namespace: str, url: str) -> dict[str, Any]:
    return {
        "apiVersion": "triggers.kubectl-trigger.dev/v1alpha1",
        "kind": "Trigger",
        "metadata": {"name": "bench-latency", "namespace": namespace},
        "spec": {
            "source": {
                "resource": {
                    "apiVersion": "v1",
                    "kind": "ConfigMap",
                    "events": ["update"],
                    "labelSelector": "bench=latency",
                }
            },
            "actions": [
                {
                    "webhook": {
                        "url": {"value": url},
                        "body": {
                            "name": "{{ .object.metadata.name }}",
                            "rv": "{{ .object.metadata.resourceVersion }}",
                        },
                    }
                }
            ],
            "options": {"rateLimit": {"perSecond": 5000, "burst": 5000}, "workers": 8},
        },
    }


def start_runner(kubeconfig: str, spec: dict[str, Any], workdir: Path) -> subprocess.Popen[bytes]:
    spec_file = workdir / "trigger.json"
    spec_file.write_text(json.dumps(spec))
    env = {**os.environ, "LOG_FORMAT": "json", "RUNNER_METRICS_ADDRESS": "127.0.0.1:0"}
    return subprocess.Popen(
        [sys.executable, "-m", "runner", "--kubeconfig", kubeconfig, "--file", str(spec_file)],
        cwd=REPO,
        env=env,
        stdout=open(workdir / "runner.log", "wb"),
        stderr=subprocess.STDOUT,
    )


def wait_ready(client: KubeClient, namespace: str, receiver: Receiver, names: list[str]) -> None:
    """Poke one object until its webhook arrives: the runner is then watching."""
    info = client.resource("v1", "ConfigMap")
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        client.patch(
            info, names[0], {"data": {"warmup": str(time.time())}}, namespace, patch_type="merge"
        )
        time.sleep(0.5)
        if receiver.arrivals:
            receiver.arrivals.clear()
            return
    raise SystemExit("runner did not fire within 30 s; see its log")


def drive(
    kubeconfig: str, namespace: str, names: list[str], rate: float, seconds: float
) -> dict[tuple[str, str], float]:
    """Update objects round-robin at ``rate``/s; return (name, rv) -> time the write was sent.

    The writes come from several processes (one client each), so the load generator's
    own GIL does not cap the rate; CLOCK_MONOTONIC is shared by every process.
    """
    total = int(rate * seconds)
    writers = max(1, min(8, int(rate // 150) + 1))
    start = time.monotonic() + 0.5  # every writer starts on the same schedule
    jobs = [(kubeconfig, namespace, names, rate, total, writers, k, start) for k in range(writers)]
    with multiprocessing.get_context("fork").Pool(writers) as pool:
        parts = pool.starmap(_writer, jobs)
    return {(name, rv): t for part in parts for name, rv, t in part}


def _writer(
    kubeconfig: str,
    namespace: str,
    names: list[str],
    rate: float,
    total: int,
    writers: int,
    offset: int,
    start: float,
) -> list[tuple[str, str, float]]:
    """One writer process: every ``writers``-th update of the schedule, on time."""
    client = KubeClient.from_config(kubeconfig)
    info = client.resource("v1", "ConfigMap")
    done = []
    for i in range(offset, total, writers):
        pause = start + i / rate - time.monotonic()
        if pause > 0:
            time.sleep(pause)
        name = names[i % len(names)]
        sent_at = time.monotonic()
        obj = client.patch(info, name, {"data": {"n": str(i)}}, namespace, patch_type="merge")
        done.append((name, obj["metadata"]["resourceVersion"], sent_at))
    return done


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time of a process so far, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def summarise(
    sent: dict[tuple[str, str], float],
    arrivals: list[tuple[str, str, float]],
    bare: dict[tuple[str, str], float],
) -> dict[str, Any]:
    counts = collections.Counter((n, rv) for n, rv, _ in arrivals)
    arrived = {(n, rv): t for n, rv, t in arrivals}
    runner_ms = [(arrived[k] - t) * 1000 for k, t in sent.items() if k in arrived]
    bare_ms = [(bare[k] - t) * 1000 for k, t in sent.items() if k in bare]
    return {
        "changes": len(sent),
        "actions": len(arrivals),
        "duplicated": sum(c - 1 for c in counts.values() if c > 1),
        "runner_p50_ms": round(statistics.median(runner_ms), 2) if runner_ms else None,
        "runner_p99_ms": round(percentile(runner_ms, 0.99), 2) if runner_ms else None,
        "bare_watch_p50_ms": round(statistics.median(bare_ms), 2) if bare_ms else None,
        "bare_watch_p99_ms": round(percentile(bare_ms, 0.99), 2) if bare_ms else None,
    }


def run_phase(
    client: KubeClient,
    kubeconfig: str,
    ns: str,
    names: list[str],
    receiver: Receiver,
    runner_pid: int,
    rate: float,
    seconds: float,
) -> dict[str, Any]:
    info = client.resource("v1", "ConfigMap")
    rv = next(client.list_pages(info, ns, limit=1))["metadata"]["resourceVersion"]
    bare = BareWatcher(client, ns, rv)
    bare.start()
    receiver.arrivals.clear()
    cpu_before = cpu_seconds(runner_pid)
    sent = drive(kubeconfig, ns, names, rate, seconds)
    first, last = min(sent.values()), max(sent.values())
    achieved = len(sent) / max(last - first, 1e-9)
    time.sleep(3)  # let the tail drain
    bare.stop = True
    with receiver.lock:
        arrivals = list(receiver.arrivals)
    result = summarise(sent, arrivals, bare.seen)
    # What the runner itself spends per change: the rate it could sustain on one core
    # if the API server delivered more (on this 2-core machine the API server is the cap).
    cpu_ms = (cpu_seconds(runner_pid) - cpu_before) * 1000 / max(len(sent), 1)
    result["runner_cpu_ms_per_change"] = round(cpu_ms, 3)
    result["runner_capacity_changes_per_s"] = round(1000 / cpu_ms) if cpu_ms else None
    result["target_rate"] = rate
    result["achieved_rate"] = round(achieved, 1)
    # Coalescing may merge several quick changes of one object into one action;
    # what must never happen is an object whose newest change never fired.
    newest: dict[str, str] = {}
    for name, rv in sent:
        if name not in newest or int(rv) > int(newest[name]):
            newest[name] = rv
    fired = {(n, rv) for n, rv, _ in arrivals}
    result["objects_whose_last_change_never_fired"] = sum(
        1 for n, rv in newest.items() if (n, rv) not in fired
    )
    # Lag that grows over the run means the runner falls behind: compare the ends.
    arrived = {(n, rv): t for n, rv, t in arrivals}
    for label, lo, hi in (("first", first, first + 10), ("last", last - 10, last)):
        lags = [(arrived[k] - t) * 1000 for k, t in sent.items() if k in arrived and lo <= t <= hi]
        result[f"runner_p99_ms_{label}_10s"] = round(percentile(lags, 0.99), 2) if lags else None
    if result["runner_p99_ms"] and result["bare_watch_p99_ms"]:
        result["p99_ratio_vs_bare_watch"] = round(
            result["runner_p99_ms"] / result["bare_watch_p99_ms"], 2
        )
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--kubeconfig", default=os.environ.get("KUBECONFIG", str(REPO / ".devcluster/kubeconfig"))
    )
    parser.add_argument("--rate", type=float, default=100)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--objects", type=int, default=50)
    parser.add_argument("--throughput-rate", type=float, default=1000)
    parser.add_argument("--throughput-seconds", type=float, default=60)
    args = parser.parse_args()

    client = KubeClient.from_config(args.kubeconfig)
    ns = f"bench-latency-{int(time.time())}"
    nsinfo = client.resource("v1", "Namespace")
    cminfo = client.resource("v1", "ConfigMap")
    client.create(nsinfo, {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}})
    names = [f"cm-{i:04d}" for i in range(args.objects)]
    for name in names:
        client.create(
            cminfo,
            {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": {"name": name, "labels": {"bench": "latency"}},
                "data": {"n": "0"},
            },
            ns,
        )
    receiver = Receiver()
    threading.Thread(target=receiver.serve_forever, daemon=True).start()
    with tempfile.TemporaryDirectory() as tmp:
        runner = start_runner(args.kubeconfig, trigger_spec(ns, receiver.url), Path(tmp))
        try:
            wait_ready(client, ns, receiver, names)
            results = {
                "latency": run_phase(
                    client,
                    args.kubeconfig,
                    ns,
                    names,
                    receiver,
                    runner.pid,
                    args.rate,
                    args.seconds,
                ),
                "throughput": run_phase(
                    client,
                    args.kubeconfig,
                    ns,
                    names,
                    receiver,
                    runner.pid,
                    args.throughput_rate,
                    args.throughput_seconds,
                ),
            }
        finally:
            runner.terminate()
            runner.wait(30)
            client.delete(nsinfo, ns)
    print(json.dumps(results, indent=2))
    merge_results("latency", results)


if __name__ == "__main__":
    main()
