"""Runner memory and start-up: RSS idle and while watching 10,000 ConfigMaps; time to ready.

Against the local control plane (``.devcluster/kubeconfig``) or $KUBECONFIG:

1. a Trigger on ConfigMaps in a namespace with (next to) no objects: start the
   real runner (``python -m runner --trigger``), time process start -> /readyz
   200 (first list done, watch running), then read VmRSS after it idles;
2. the same in a namespace holding N ConfigMaps (default 10,000, created in
   parallel through the runner's own API client): time to ready, how long the
   list took (the runner logs it), and VmRSS once it idles; the growth over (1)
   is what the index and the listing cost;
3. (2) again, now starting from the checkpoint the first run wrote at SIGTERM:
   what catching up costs, and that it fires nothing (nothing changed);
4. (1) again from the runner image (``make image``'s rootfs under bwrap, as the
   pod emulator runs it: read-only, user 65532, in-cluster credentials of a
   ServiceAccount token mounted where Kubernetes mounts it): the RSS a pod has.

The runner's bytecode is compiled first, as the runner image ships it (with
PYTHONDONTWRITEBYTECODE set and no bytecode, every start would compile the
runner from source, which is slower and leaves the compiler's peak resident).

Bars (shared/DESIGN.md): idle RSS <= 30 MiB (<= 26 MiB from the image), growth
<= 5 MiB for 10,000 objects, watching within 1 s of start, 10,000 objects listed in under 3 s.
Prints the figures and merges them into bench/results.json under
"runner_memory". Usage: python bench/runner_memory.py [--objects 10000] [--keep]
"""

from __future__ import annotations

import argparse
import compileall
import contextlib
import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench.results import merge_results  # noqa: E402
from runner.kube.client import KubeClient  # noqa: E402

API_VERSION = "triggers.kubectl-trigger.dev/v1alpha1"
MIB = 1024 * 1024


def kubectl_binary() -> str:
    """The devcluster's kubectl when built, else the one on PATH."""
    try:
        from devcluster import versions

        built = versions.bin_dir() / "kubectl"
        if built.exists():
            return str(built)
    except ImportError:
        pass
    return shutil.which("kubectl") or "kubectl"


def ensure_crd(kubeconfig: str) -> None:
    kubectl = [kubectl_binary(), f"--kubeconfig={kubeconfig}"]
    crd = "triggers.triggers.kubectl-trigger.dev"
    if subprocess.run([*kubectl, "get", "crd", crd], capture_output=True).returncode != 0:
        subprocess.run([*kubectl, "apply", "-f", str(REPO / "manifests/crd.yaml")], check=True)
    subprocess.run(
        [*kubectl, "wait", "--for=condition=Established", f"crd/{crd}", "--timeout=60s"],
        check=True,
        capture_output=True,
    )


def create_namespace(client: KubeClient, name: str) -> None:
    info = client.resource("v1", "Namespace")
    client.create(info, {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})


def create_trigger(client: KubeClient, namespace: str, name: str) -> None:
    info = client.resource(API_VERSION, "Trigger")
    body = {
        "apiVersion": API_VERSION,
        "kind": "Trigger",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {
            "source": {
                "resource": {"apiVersion": "v1", "kind": "ConfigMap", "changed": ["{.data}"]}
            },
            "actions": [{"log": {"message": "{{ .event }} {{ .object.metadata.name }}"}}],
        },
    }
    client.create(info, body, namespace)


def create_configmaps(client: KubeClient, namespace: str, count: int) -> float:
    """Create ``count`` small ConfigMaps with 16 parallel requests; returns the seconds taken."""
    info = client.resource("v1", "ConfigMap")

    def one(i: int) -> None:
        body = {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": f"cm-{i:05d}", "labels": {"bench": "runner-memory"}},
            "data": {"index": str(i), "payload": "x" * 64},
        }
        for attempt in range(5):
            try:
                client.create(info, body, namespace)
                return
            except Exception:
                if attempt == 4:
                    raise
                time.sleep(0.2 * (attempt + 1))

    start = time.monotonic()
    with ThreadPoolExecutor(16) as pool:
        list(pool.map(one, range(count)))
    return time.monotonic() - start


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


def ready(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=1) as resp:
            return bool(resp.status == 200)
    except (urllib.error.URLError, OSError):
        return False


def service_account_dir(client: KubeClient, namespace: str, workdir: Path) -> Path:
    """A ServiceAccount (bound to cluster-admin, bench only) and its token, ca.crt and
    namespace files, as a kubelet mounts them for a pod."""
    sa_info = client.resource("v1", "ServiceAccount")
    sa = {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "bench-runner"}}
    client.create(sa_info, sa, namespace)
    binding_info = client.resource("rbac.authorization.k8s.io/v1", "ClusterRoleBinding")
    binding = {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRoleBinding",
        "metadata": {"name": f"bench-runner-{namespace}"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole",
                    "name": "cluster-admin"},
        "subjects": [{"kind": "ServiceAccount", "name": "bench-runner", "namespace": namespace}],
    }  # fmt: skip
    client.create(binding_info, binding)
    path = f"/api/v1/namespaces/{namespace}/serviceaccounts/bench-runner/token"
    body = {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest", "spec": {}}
    token = client.request("POST", path, body=body)["status"]["token"]
    sa_dir = workdir / "serviceaccount"
    sa_dir.mkdir()
    (sa_dir / "token").write_text(token)
    (sa_dir / "namespace").write_text(namespace)
    ca_file = client.config.ca_file
    ca = Path(ca_file).read_text() if ca_file else client.config.ca_data or ""
    (sa_dir / "ca.crt").write_text(ca)
    return sa_dir


def start_in_image(
    client: KubeClient, sa_dir: Path, ref: str, port: int, log: Any
) -> tuple[subprocess.Popen[bytes], int]:
    """The runner from the image, as a pod runs it; returns (process, the runner's pid)."""
    from runner_image import build
    from runner_image.sandbox import SERVICEACCOUNT_DIR, SandboxedProcess

    server = urlsplit(client.config.server)
    env = {
        "KUBERNETES_SERVICE_HOST": server.hostname or "127.0.0.1",
        "KUBERNETES_SERVICE_PORT": str(server.port or 443),
        "RUNNER_METRICS_ADDRESS": f"127.0.0.1:{port}",
        "LOG_FORMAT": "json",
    }
    proc = SandboxedProcess(
        build.ensure_image().rootfs,
        ["python", "-m", "runner", "--trigger", ref],
        env,
        binds=[(sa_dir, SERVICEACCOUNT_DIR)],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    return proc, proc.child_pid or proc.pid


def run_runner(
    kubeconfig: str,
    namespace: str,
    name: str,
    workdir: Path,
    idle: float,
    image: tuple[KubeClient, Path] | None = None,
) -> dict[str, Any]:
    """Start a runner (on the host, or from the image with ``image``: the client and a
    service-account dir), time it to ready, let it idle, read its RSS, stop it."""
    port = free_port()
    log_path = workdir / f"{namespace}{'-image' if image else ''}.log"
    env = {
        **os.environ,
        "RUNNER_METRICS_ADDRESS": f"127.0.0.1:{port}",
        "LOG_FORMAT": "json",
        "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])),
    }
    argv = [sys.executable, "-m", "runner", "--kubeconfig", kubeconfig]
    with open(log_path, "wb") as log:
        start = time.monotonic()
        if image is not None:
            proc, pid = start_in_image(image[0], image[1], f"{namespace}/{name}", port, log)
        else:
            proc = subprocess.Popen(
                [*argv, "--trigger", f"{namespace}/{name}"],
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
                cwd=REPO,
            )
            pid = proc.pid
        try:
            while not ready(port):
                if proc.poll() is not None:
                    raise RuntimeError(f"runner exited {proc.returncode}: {log_path.read_text()}")
                if time.monotonic() - start > 60:
                    raise RuntimeError("runner not ready after 60 s")
                time.sleep(0.005)
            to_ready = time.monotonic() - start
            rss_ready = rss_mib(pid)
            time.sleep(idle)
            rss_idle = rss_mib(pid)
        finally:
            proc.terminate()
            proc.wait(30)
    listed = [
        json.loads(line)
        for line in log_path.read_text().splitlines()
        if line.startswith("{") and '"list_seconds"' in line
    ]
    fired = sum(1 for line in log_path.read_text().splitlines() if '"ran for' in line)
    return {
        "actions_fired": fired,
        "ready_seconds": round(to_ready, 3),
        "rss_at_ready_mib": round(rss_ready, 1),
        "rss_idle_mib": round(rss_idle, 1),
        "list_seconds": listed[0]["list_seconds"] if listed else None,
        "listed_objects": listed[0]["objects"] if listed else None,
    }


def import_time() -> float:
    """Seconds for ``python -m runner --help`` (imports and argument parsing only)."""
    best = float("inf")
    for _ in range(3):
        start = time.monotonic()
        subprocess.run(
            [sys.executable, "-m", "runner", "--help"],
            capture_output=True,
            check=True,
            cwd=REPO,
        )
        best = min(best, time.monotonic() - start)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--kubeconfig", default=os.environ.get("KUBECONFIG", str(REPO / ".devcluster/kubeconfig"))
    )
    parser.add_argument("--objects", type=int, default=10_000)
    parser.add_argument("--idle", type=float, default=5.0, help="seconds to idle before RSS")
    parser.add_argument("--keep", action="store_true", help="keep the namespaces")
    args = parser.parse_args()

    client = KubeClient.from_config(args.kubeconfig)
    ensure_crd(args.kubeconfig)
    if not compileall.compile_dir(str(REPO / "runner"), quiet=1):
        raise SystemExit("could not compile the runner")
    suffix = secrets.token_hex(3)
    empty_ns, full_ns = f"bench-mem-empty-{suffix}", f"bench-mem-full-{suffix}"
    figures: dict[str, Any] = {"objects": args.objects, "bytecode": "precompiled, as in the image"}
    try:
        for ns in (empty_ns, full_ns):
            create_namespace(client, ns)
            create_trigger(client, ns, "memory")
        created = create_configmaps(client, full_ns, args.objects)
        figures["create_seconds"] = round(created, 1)
        print(f"created {args.objects} ConfigMaps in {created:.1f}s", file=sys.stderr)
        with tempfile.TemporaryDirectory() as tmp:
            empty = run_runner(args.kubeconfig, empty_ns, "memory", Path(tmp), args.idle)
            full = run_runner(args.kubeconfig, full_ns, "memory", Path(tmp), args.idle)
            # again, now from the checkpoint the first run wrote: catch-up finds nothing to do
            restart = run_runner(args.kubeconfig, full_ns, "memory", Path(tmp), args.idle)
            sa_dir = service_account_dir(client, empty_ns, Path(tmp))
            image = run_runner(
                args.kubeconfig, empty_ns, "memory", Path(tmp), args.idle, (client, sa_dir)
            )
        figures["help_seconds"] = round(import_time(), 3)
        figures["empty"] = empty
        figures["full"] = full
        figures["full_restart_from_checkpoint"] = restart
        figures["empty_from_image"] = image
        figures["rss_growth_mib"] = round(full["rss_idle_mib"] - empty["rss_idle_mib"], 1)
        figures["bars"] = {
            "idle_rss_mib<=30": empty["rss_idle_mib"] <= 30,
            "image_idle_rss_mib<=26": image["rss_idle_mib"] <= 26,
            "growth_mib<=5": figures["rss_growth_mib"] <= 5,
            "ready_seconds<=1": empty["ready_seconds"] <= 1,
            "list_10k_seconds<3": (full["list_seconds"] or 99) < 3,
            "restart_fires_nothing": restart["actions_fired"] == 0,
        }
    finally:
        if not args.keep:
            with contextlib.suppress(Exception):
                bindings = "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings"
                client.request("DELETE", f"{bindings}/bench-runner-{empty_ns}")
            for ns in (empty_ns, full_ns):
                try:
                    client.request("DELETE", f"/api/v1/namespaces/{ns}")
                except Exception as exc:  # cleanup must not hide the figures
                    print(f"could not delete {ns}: {exc}", file=sys.stderr)
    print(json.dumps(figures, indent=2))
    merge_results("runner_memory", figures)


if __name__ == "__main__":
    main()
