"""How fast the plugin answers: ``kubectl-trigger --help`` and ``kubectl-trigger get``.

The bar is 0.3 s for each (DESIGN.md). Each command runs N times as a fresh
subprocess, as a user's shell would run it, against the local control plane
(reused if running, else started and stopped again), with a few Triggers in a
namespace of its own so ``get`` prints a real table. Prints the median, min
and max and merges them into bench/results.json under "plugin_speed".

Usage: python bench/plugin_speed.py [--runs 15] [--triggers 5]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench.results import merge_results  # noqa: E402

BAR_SECONDS = 0.3
NAMESPACE = "bench-plugin-speed"


def plugin_command() -> list[str]:
    """The installed ``kubectl-trigger`` script beside this Python, else ``python -m``."""
    script = Path(sys.executable).parent / "kubectl-trigger"
    if script.exists():
        return [str(script)]
    found = shutil.which("kubectl-trigger")
    return [found] if found else [sys.executable, "-m", "kubectl_trigger"]


def timed(argv: list[str], runs: int, env: dict[str, str]) -> list[float]:
    """Wall seconds of ``runs`` sequential runs (one warm-up run first, not counted)."""
    subprocess.run(argv, env=env, capture_output=True, check=True)
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(argv, env=env, capture_output=True, check=True)
        times.append(time.perf_counter() - start)
    return times


def _trigger(i: int) -> dict[str, object]:
    return {
        "apiVersion": "triggers.kubectl-trigger.dev/v1alpha1",
        "kind": "Trigger",
        "metadata": {
            "name": f"speed-{i}",
            "namespace": NAMESPACE,
            "annotations": {
                "triggers.kubectl-trigger.dev/source": "ConfigMap",
                "triggers.kubectl-trigger.dev/actions": "log",
            },
        },
        "spec": {
            "source": {"resource": {"apiVersion": "v1", "kind": "ConfigMap"}},
            "actions": [{"log": {"message": "changed"}}],
        },
    }


def setup(kubectl: list[str], plugin: list[str], env: dict[str, str], triggers: int) -> None:
    """CRDs installed, and ``triggers`` Trigger objects (no runners: get only lists)."""
    subprocess.run([*plugin, "install"], env=env, capture_output=True, check=True)
    subprocess.run([*kubectl, "create", "namespace", NAMESPACE], env=env, capture_output=True)
    items = [_trigger(i) for i in range(triggers)]
    body = json.dumps({"apiVersion": "v1", "kind": "List", "items": items})
    subprocess.run(
        [*kubectl, "apply", "--server-side", "-f", "-"],
        input=body,
        text=True,
        env=env,
        capture_output=True,
        check=True,
    )


def summary(times: list[float]) -> dict[str, float]:
    """Median, min and max, rounded to the millisecond."""
    return {
        "median_s": round(statistics.median(times), 3),
        "min_s": round(min(times), 3),
        "max_s": round(max(times), 3),
    }


def main() -> int:
    """Measure, print, record; exit 1 if a median misses the bar."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--triggers", type=int, default=5)
    args = parser.parse_args()

    from devcluster import cluster as devcluster
    from devcluster.layout import Layout

    owned = not devcluster.is_running()
    lay = devcluster.up() if owned else Layout.load()
    try:
        env = {**os.environ, "KUBECONFIG": str(lay.kubeconfig)}
        kubectl = [lay.binary("kubectl")]
        plugin = plugin_command()
        setup(kubectl, plugin, env, args.triggers)
        get_argv = [*plugin, "get", "-n", NAMESPACE]
        help_times = timed([*plugin, "--help"], args.runs, env)
        get_times = timed(get_argv, args.runs, env)
        subprocess.run(
            [*kubectl, "delete", "namespace", NAMESPACE, "--wait=false"],
            env=env,
            capture_output=True,
        )
    finally:
        if owned:
            devcluster.down(lay.state_dir, quiet=True)
    figures = {
        "command": " ".join(Path(a).name if i == 0 else a for i, a in enumerate(plugin)),
        "runs": args.runs,
        "triggers_listed": args.triggers,
        "bar_s": BAR_SECONDS,
        "help": summary(help_times),
        "get": summary(get_times),
    }
    ok = figures["help"]["median_s"] < BAR_SECONDS and figures["get"]["median_s"] < BAR_SECONDS
    figures["meets_bar"] = ok
    for name in ("help", "get"):
        f = figures[name]
        print(
            f"kubectl-trigger {name:<5} median {f['median_s']:.3f}s  "
            f"min {f['min_s']:.3f}s  max {f['max_s']:.3f}s  (bar {BAR_SECONDS}s, "
            f"{args.runs} runs)"
        )
    merge_results("plugin_speed", figures)
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
