"""How long ``kubectl trigger create -f`` takes for many Triggers in one file.

The bar is 50 Triggers in under 10 s on the local control plane (DESIGN.md).
Each run creates the Triggers (with their ServiceAccounts, Roles, bindings and
runner Deployments; kwok simulates the pods) in a fresh namespace, as a user's
shell would run the plugin, then deletes the namespace. Prints the median, min
and max of the runs and merges them into bench/results.json under
"create_many".

``--baseline DIR`` also measures another checkout of the plugin in the same way
and records it beside (``--baseline-label`` says what it is), so both figures
come from one machine and one run. The recorded baseline is this code writing
one trigger at a time: ``git archive HEAD kubectl_trigger runner | tar -x -C DIR``,
then ``WORKERS = 1`` and ``LIST_FROM = 10**9`` in DIR/kubectl_trigger/deploy.py.

Usage: python bench/create_many.py [--triggers 50] [--runs 3] [--baseline DIR]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench.plugin_speed import plugin_command  # noqa: E402
from bench.results import merge_results  # noqa: E402

BAR_SECONDS = 10.0
IMAGE = "registry.example/kubectl-trigger/runner:kwok"  # kwok simulates it; nothing runs


def triggers_file(path: Path, count: int) -> None:
    """``count`` Triggers, one document each, in one file."""
    docs = [
        {
            "apiVersion": "triggers.kubectl-trigger.dev/v1alpha1",
            "kind": "Trigger",
            "metadata": {"name": f"many-{i:03d}"},
            "spec": {
                "source": {"resource": {"apiVersion": "v1", "kind": "ConfigMap"}},
                "actions": [{"log": {"message": "changed"}}],
            },
        }
        for i in range(count)
    ]
    path.write_text(yaml.safe_dump_all(docs, sort_keys=False))


def one_run(
    plugin: list[str], kubectl: list[str], env: dict[str, str], file: Path, count: int, run: str
) -> float:
    """Seconds for one ``create -f`` of the file into a fresh namespace (deleted afterwards)."""
    namespace = f"bench-create-many-{os.getpid()}-{run}"
    made = subprocess.run(
        [*kubectl, "create", "namespace", namespace], env=env, capture_output=True, text=True
    )
    if made.returncode != 0:
        raise SystemExit(f"kubectl create namespace {namespace} failed: {made.stderr}")
    try:
        start = time.perf_counter()
        proc = subprocess.run(
            [*plugin, "create", "-f", str(file), "-n", namespace, "--image", IMAGE],
            env=env,
            capture_output=True,
            text=True,
        )
        seconds = time.perf_counter() - start
        if proc.returncode != 0:
            raise SystemExit(f"create failed ({proc.returncode}):\n{proc.stderr[-2000:]}")
        created = proc.stdout.count("trigger.triggers.kubectl-trigger.dev/")
        if created != count:
            raise SystemExit(f"expected {count} Triggers created, the plugin reported {created}")
        return seconds
    finally:
        subprocess.run(
            [*kubectl, "delete", "namespace", namespace, "--wait=false"],
            env=env,
            capture_output=True,
        )


def measure(
    plugin: list[str],
    kubectl: list[str],
    env: dict[str, str],
    file: Path,
    count: int,
    runs: int,
    label: str,
) -> dict[str, float]:
    """Median, min and max of ``runs`` runs, rounded to the millisecond."""
    times = [one_run(plugin, kubectl, env, file, count, f"{label}-{i}") for i in range(runs)]
    return {
        "median_s": round(statistics.median(times), 3),
        "min_s": round(min(times), 3),
        "max_s": round(max(times), 3),
    }


def server_write_rate(kubeconfig: str, writes: int = 100, workers: int = 8) -> float:
    """ConfigMap applies per second the API server takes right now, ``workers`` at once.

    The context for the figure above: creating a trigger is 6 writes, and on a machine
    busy with other work the server, not the plugin, sets the pace.
    """
    from concurrent.futures import ThreadPoolExecutor

    from kubectl_trigger.session import resource_info
    from runner.kube.client import KubeClient
    from runner.kube.config import load_kubectl_config

    client = KubeClient(load_kubectl_config(kubeconfig, None))
    info = resource_info("v1", "ConfigMap", "configmaps", True)
    namespace = f"bench-write-rate-{os.getpid()}"
    client.create(
        resource_info("v1", "Namespace", "namespaces", False), {"metadata": {"name": namespace}}
    )

    def write(i: int) -> None:
        body = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": f"c{i}"}}
        client.apply(info, {**body, "data": {"i": str(i)}}, namespace, field_manager="bench")

    try:
        start = time.perf_counter()
        with ThreadPoolExecutor(workers) as pool:
            list(pool.map(write, range(writes)))
        return writes / (time.perf_counter() - start)
    finally:
        client.delete(resource_info("v1", "Namespace", "namespaces", False), namespace)


def main() -> int:
    """Measure, print, record; exit 1 if the median misses the bar."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--triggers", type=int, default=50)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--baseline", type=Path, help="another checkout to measure the same way")
    parser.add_argument("--baseline-label", default="", help="what the baseline checkout is")
    args = parser.parse_args()

    from devcluster import cluster as devcluster
    from devcluster.layout import Layout

    owned = not devcluster.is_running()
    lay = devcluster.up() if owned else Layout.load()
    file = Path(f"/tmp/bench-create-many-{os.getpid()}.yaml")
    triggers_file(file, args.triggers)
    try:
        env = {**os.environ, "KUBECONFIG": str(lay.kubeconfig)}
        kubectl = [lay.binary("kubectl")]
        plugin = plugin_command()
        subprocess.run([*plugin, "install"], env=env, capture_output=True, check=True)
        write_rate = server_write_rate(str(lay.kubeconfig))
        current = measure(plugin, kubectl, env, file, args.triggers, args.runs, "now")
        baseline = None
        if args.baseline:
            old_env = {**env, "PYTHONPATH": str(args.baseline.resolve())}
            old = [sys.executable, "-m", "kubectl_trigger"]
            baseline = measure(old, kubectl, old_env, file, args.triggers, args.runs, "base")
    finally:
        file.unlink(missing_ok=True)
        if owned:
            devcluster.down(lay.state_dir, quiet=True)
    from kubectl_trigger.deploy import WORKERS

    figures: dict[str, object] = {
        "load_average_1m": round(os.getloadavg()[0], 1),  # other work on the machine
        "server_writes_per_s": round(write_rate),  # ConfigMap applies, 8 at once, just before
        "triggers": args.triggers,
        "runs": args.runs,
        "workers": WORKERS,
        "bar_s": BAR_SECONDS,
        "create": current,
        "meets_bar": current["median_s"] < BAR_SECONDS,
    }
    print(
        f"create -f with {args.triggers} Triggers: median {current['median_s']:.2f}s  "
        f"min {current['min_s']:.2f}s  max {current['max_s']:.2f}s  "
        f"({WORKERS} at once; bar {BAR_SECONDS:g}s, {args.runs} runs; "
        f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores; the API server "
        f"took {write_rate:.0f} writes/s just before)"
    )
    if baseline is not None:
        label = args.baseline_label or str(args.baseline)
        figures["baseline"] = {"checkout": label, **baseline}
        print(
            f"baseline {args.baseline}: median {baseline['median_s']:.2f}s  "
            f"min {baseline['min_s']:.2f}s  max {baseline['max_s']:.2f}s"
        )
    merge_results("create_many", figures)
    return 0 if figures["meets_bar"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
