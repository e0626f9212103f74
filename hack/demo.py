"""The main job: show a trigger firing, end to end, on a real API server.

Uses the cluster in $KUBECONFIG (or --kubeconfig) when one answers; otherwise
brings up the local control plane (python -m devcluster up). Then it installs
the CRDs, creates a ConfigMap and a Deployment that uses it, creates the
flagship trigger (examples/restart-on-configmap-change.yaml: restart the
workloads that use a ConfigMap when it changes), changes the ConfigMap and
shows the Deployment being restarted, the trigger's status and its runner's
logs. Every step prints the command a user would type.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
EXAMPLE = REPO / "examples" / "restart-on-configmap-change.yaml"
NAMESPACE = "demo"

WORKLOAD = """
apiVersion: v1
kind: Namespace
metadata: {name: demo}
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: web-config
  namespace: demo
  labels: {triggers.kubectl-trigger.dev/restart-consumers: "true"}
data: {greeting: hello}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: demo, labels: {app: web}}
spec:
  replicas: 1
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
        - name: web
          image: registry.example/web:1.0
          envFrom: [{configMapRef: {name: web-config}}]
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: unrelated, namespace: demo, labels: {app: unrelated}}
spec:
  replicas: 1
  selector: {matchLabels: {app: unrelated}}
  template:
    metadata: {labels: {app: unrelated}}
    spec:
      containers: [{name: app, image: registry.example/other:1.0}]
"""


def step(title: str) -> None:
    print(f"\n\033[1m== {title}\033[0m", flush=True)


def run(
    args: list[str], *, env: dict[str, str], input: str | None = None, check: bool = True
) -> subprocess.CompletedProcess[str]:
    shown = " ".join(args).replace(f"{sys.executable} -m kubectl_trigger", "kubectl trigger")
    if args and Path(args[0]).name == "kubectl":
        shown = "kubectl" + shown[len(args[0]) :]
    print(f"$ {shown}", flush=True)
    proc = subprocess.run(args, env=env, input=input, text=True, capture_output=True, check=False)
    sys.stdout.write(proc.stdout)
    sys.stderr.write(proc.stderr)
    if check and proc.returncode != 0:
        raise SystemExit(f"demo: step failed (exit {proc.returncode}): {shown}")
    return proc


def kubectl_binary() -> str:
    sys.path.insert(0, str(REPO))
    from devcluster import versions

    built = versions.bin_dir() / "kubectl"
    return str(built) if built.exists() else (shutil.which("kubectl") or "kubectl")


def quiet(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """A polling command: run without echoing it."""
    return subprocess.run(args, env=env, capture_output=True, text=True, timeout=30, check=False)


def cluster_answers(kubectl: str, env: dict[str, str]) -> bool:
    if not env.get("KUBECONFIG"):
        return False
    proc = subprocess.run(
        [kubectl, "get", "--raw", "/readyz"],
        env=env,
        capture_output=True,
        text=True,
        timeout=15,
        check=False,
    )
    return proc.returncode == 0


def wait_for(what: str, check: Callable[[], object], timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(1)
    raise SystemExit(f"demo: timed out after {timeout:.0f}s waiting for {what}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kubeconfig", help="use this cluster instead of the local control plane")
    args = parser.parse_args()
    env = dict(os.environ)
    if args.kubeconfig:
        env["KUBECONFIG"] = args.kubeconfig
    kubectl = kubectl_binary()
    plugin = [sys.executable, "-m", "kubectl_trigger"]

    local = not cluster_answers(kubectl, env)
    if local:
        step("No cluster given: bringing up the local control plane")
        run([sys.executable, "-m", "devcluster", "up"], env=env)
        from devcluster.layout import default_state_dir  # honours KT_CLUSTER_DIR, as `up` does

        env["KUBECONFIG"] = str(default_state_dir() / "kubeconfig")
    run([kubectl, "get", "nodes", "-o", "wide"], env=env)

    step("Install the Trigger CRDs")
    run([*plugin, "install"], env=env)

    step("A namespace, a ConfigMap and two Deployments, one of which uses the ConfigMap")
    run([kubectl, "apply", "-f", "-"], env=env, input=WORKLOAD)

    step("The trigger: restart the workloads that use a ConfigMap when it changes")
    print(EXAMPLE.read_text())
    # A real cluster must be able to pull the runner image: RUNNER_IMAGE names your build.
    image = ["--image", env["RUNNER_IMAGE"]] if env.get("RUNNER_IMAGE") else []
    run([*plugin, "apply", "-n", NAMESPACE, "-f", str(EXAMPLE), *image], env=env)
    name = _trigger_name()

    def trigger_status() -> dict[str, Any]:
        proc = quiet([kubectl, "get", "trigger", name, "-n", NAMESPACE, "-o", "json"], env)
        return (json.loads(proc.stdout).get("status") or {}) if proc.returncode == 0 else {}

    def runner_watching() -> bool:
        conditions = trigger_status().get("conditions") or []
        return any(c["type"] == "Watching" and c["status"] == "True" for c in conditions)

    wait_for("the runner to be watching", runner_watching)
    run([*plugin, "get", "-n", NAMESPACE], env=env)

    def restarted(deployment: str) -> str:
        path = "{.spec.template.metadata.annotations.kubectl\\.kubernetes\\.io/restartedAt}"
        cmd = [kubectl, "-n", NAMESPACE, "get", "deployment", deployment, "-o", f"jsonpath={path}"]
        return quiet(cmd, env).stdout.strip()

    before = {d: restarted(d) for d in ("web", "unrelated")}
    fired_before = trigger_status().get("counters", {}).get("eventsMatched", 0)
    step("Change the ConfigMap")
    greeting = json.dumps({"data": {"greeting": f"hello at {time.strftime('%H:%M:%S')}"}})
    run([kubectl, "-n", NAMESPACE, "patch", "configmap", "web-config", "-p", greeting], env=env)
    wait_for("deployment/web to be restarted", lambda: restarted("web") != before["web"], 60)
    wait_for(
        "the Trigger's status to count the firing",
        lambda: trigger_status().get("counters", {}).get("eventsMatched", 0) > fired_before,
        30,
    )

    step("deployment/web was restarted; deployment/unrelated was not")
    for deployment in ("web", "unrelated"):
        now = restarted(deployment)
        verdict = "restarted" if now != before[deployment] else "untouched"
        print(f"deployment/{deployment}: {verdict} (restartedAt={now or '<none>'})")
    if restarted("unrelated") != before["unrelated"]:
        raise SystemExit("demo: deployment/unrelated was restarted too; that is a bug")
    run([*plugin, "get", "-n", NAMESPACE, "-o", "wide"], env=env)
    run([*plugin, "logs", name, "-n", NAMESPACE, "--tail", "3"], env=env)
    print(_done(kubectl, env["KUBECONFIG"], local))


def _done(kubectl: str, kubeconfig: str, local: bool) -> str:
    """Commands a reader can paste into their own shell: where kubectl and the plugin are."""
    paths = dict.fromkeys([str(Path(sys.executable).parent), str(Path(kubectl).parent)])
    lines = [
        "",
        "Done. To use this cluster from your shell:",
        f'  export KUBECONFIG={kubeconfig} PATH="{":".join(paths)}:$PATH"',
        f"  kubectl trigger get -n {NAMESPACE}",
        f"Clean up: kubectl trigger delete -n {NAMESPACE} --all",
    ]
    if local:
        lines.append("Stop the local control plane: make cluster-down")
    return "\n".join(lines)


def _trigger_name() -> str:
    import yaml

    return str(yaml.safe_load(EXAMPLE.read_text())["metadata"]["name"])


if __name__ == "__main__":
    main()
