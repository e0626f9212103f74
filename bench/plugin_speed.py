"""How fast the plugin answers: ``kubectl-trigger --help`` and ``kubectl-trigger get``.

Both as pip installs it and as krew installs it (the zipapp, hack/plugin_zipapp.py,
run by the same Python).

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
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
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


def build_zipapp(folder: Path) -> Path:
    """The self-contained plugin as krew ships it (hack/plugin_zipapp.py), built now."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("plugin_zipapp", REPO / "hack/plugin_zipapp.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return Path(module.build(folder / "kubectl-trigger"))


def timed(argv: list[str], runs: int, env: dict[str, str]) -> tuple[list[float], list[float]]:
    """Wall and CPU (user + system) seconds of ``runs`` sequential runs (one warm-up run
    first, not counted). CPU time moves far less than wall time on a busy machine."""
    subprocess.run(argv, env=env, capture_output=True, check=True)
    walls, cpus = [], []
    for _ in range(runs):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        subprocess.run(argv, env=env, capture_output=True, check=True)
        walls.append(time.perf_counter() - start)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpus.append(after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime)
    return walls, cpus


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


def summary(timings: tuple[list[float], list[float]]) -> dict[str, float]:
    """Wall median, min and max and the CPU median, rounded to the millisecond."""
    times, cpus = timings
    return {
        "median_s": round(statistics.median(times), 3),
        "min_s": round(min(times), 3),
        "max_s": round(max(times), 3),
        "cpu_median_s": round(statistics.median(cpus), 3),
    }


def main() -> int:
    """Measure, print, record; exit 1 if a median misses the bar."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--triggers", type=int, default=5)
    args = parser.parse_args()

    from devcluster import cluster as devcluster
    from devcluster.layout import Layout

    load_before = os.getloadavg()[0]
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
        # the zipapp (krew's install), run by the same Python as the pip install above
        with tempfile.TemporaryDirectory() as tmp:
            zipapp = [sys.executable, str(build_zipapp(Path(tmp)))]
            zipapp_size = Path(zipapp[1]).stat().st_size
            zipapp_help = timed([*zipapp, "--help"], args.runs, env)
            zipapp_get = timed([*zipapp, "get", "-n", NAMESPACE], args.runs, env)
        subprocess.run(
            [*kubectl, "delete", "namespace", NAMESPACE, "--wait=false"],
            env=env,
            capture_output=True,
        )
    finally:
        if owned:
            devcluster.down(lay.state_dir, quiet=True)
    figures = {
        # other work on the machine inflates wall times (not CPU times): say how busy it was
        "load_average_1m": [round(load_before, 1), round(os.getloadavg()[0], 1)],
        "command": " ".join(Path(a).name if i == 0 else a for i, a in enumerate(plugin)),
        "runs": args.runs,
        "triggers_listed": args.triggers,
        "bar_s": BAR_SECONDS,
        "help": summary(help_times),
        "get": summary(get_times),
        "zipapp": {
            "size_mb": round(zipapp_size / 1e6, 1),
            "help": summary(zipapp_help),
            "get": summary(zipapp_get),
        },
    }
    medians = [figures[n]["median_s"] for n in ("help", "get")]
    medians += [figures["zipapp"][n]["median_s"] for n in ("help", "get")]
    ok = all(m < BAR_SECONDS for m in medians)
    figures["meets_bar"] = ok
    for name in ("help", "get"):
        f = figures[name]
        print(
            f"kubectl-trigger {name:<5} median {f['median_s']:.3f}s  "
            f"min {f['min_s']:.3f}s  max {f['max_s']:.3f}s  cpu {f['cpu_median_s']:.3f}s  "
            f"(bar {BAR_SECONDS}s, {args.runs} runs)"
        )
    for name in ("help", "get"):
        f = figures["zipapp"][name]
        print(
            f"zipapp          {name:<5} median {f['median_s']:.3f}s  "
            f"min {f['min_s']:.3f}s  max {f['max_s']:.3f}s  cpu {f['cpu_median_s']:.3f}s  "
            f"({figures['zipapp']['size_mb']} MB)"
        )
    merge_results("plugin_speed", figures)
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
