"""Bring the local control plane up, down, and report on it.

The components and the order they start in are one table; ``up`` walks it
forwards and ``down`` backwards. A fresh ``up`` starts from an empty etcd (the
PKI is kept, so an exported KUBECONFIG stays valid) and does not return until
the cluster is usable: the API server is ready, the simulated node is Ready,
the ``default`` ServiceAccount exists and the pod emulator has listed pods.
If any step fails, everything started so far is stopped again. ``up`` also
makes sure the runner image for this checkout is built (runner_image: cached,
so this costs milliseconds unless runner/ changed), so runner pods start at once.
"""

from __future__ import annotations

import shutil
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import urllib3

from devcluster import build, kwok, layout, pki, podemu, processes
from devcluster.api import Api, ApiError
from devcluster.layout import PORT_DEFAULTS, Layout
from devcluster.processes import StartError
from runner_image import build as image_build
from runner_image.sandbox import SandboxError


def _etcd_argv(lay: Layout) -> list[str]:
    client = f"http://{layout.HOST}:{lay.ports['etcd']}"
    peer = f"http://{layout.HOST}:{lay.ports['etcd_peer']}"
    return [
        lay.binary("etcd"),
        "--name=devcluster",
        f"--data-dir={lay.etcd_data_dir}",
        f"--listen-client-urls={client}",
        f"--advertise-client-urls={client}",
        f"--listen-peer-urls={peer}",
        f"--initial-advertise-peer-urls={peer}",
        f"--initial-cluster=devcluster={peer}",
        "--unsafe-no-fsync",  # throwaway data: durability buys nothing, costs latency
        "--log-level=warn",
    ]


def _apiserver_argv(lay: Layout) -> list[str]:
    p = lay.pki_dir
    return [
        lay.binary("kube-apiserver"),
        f"--etcd-servers=http://{layout.HOST}:{lay.ports['etcd']}",
        f"--bind-address={layout.HOST}",
        f"--advertise-address={layout.HOST}",
        f"--secure-port={lay.ports['apiserver']}",
        f"--tls-cert-file={p / 'serving.crt'}",
        f"--tls-private-key-file={p / 'serving.key'}",
        f"--client-ca-file={p / 'ca.crt'}",
        "--authorization-mode=Node,RBAC",
        f"--service-account-issuer={layout.ISSUER}",
        f"--api-audiences={layout.ISSUER}",
        f"--service-account-key-file={p / 'sa.pub'}",
        f"--service-account-signing-key-file={p / 'sa.key'}",
        f"--service-cluster-ip-range={layout.SERVICE_CIDR}",
        f"--kubelet-client-certificate={p / 'apiserver-kubelet-client.crt'}",
        f"--kubelet-client-key={p / 'apiserver-kubelet-client.key'}",
        f"--kubelet-certificate-authority={p / 'ca.crt'}",
        "--kubelet-preferred-address-types=InternalIP",
        "--allow-privileged=true",  # as in real clusters: Pod Security admission decides
        "--profiling=false",
    ]


def _controller_manager_argv(lay: Layout) -> list[str]:
    p = lay.pki_dir
    return [
        lay.binary("kube-controller-manager"),
        f"--kubeconfig={lay.component_kubeconfig('controller-manager')}",
        f"--bind-address={layout.HOST}",
        f"--secure-port={lay.ports['controller_manager']}",
        f"--tls-cert-file={p / 'serving.crt'}",
        f"--tls-private-key-file={p / 'serving.key'}",
        f"--service-account-private-key-file={p / 'sa.key'}",
        f"--root-ca-file={p / 'ca.crt'}",
        f"--cluster-signing-cert-file={p / 'ca.crt'}",
        f"--cluster-signing-key-file={p / 'ca.key'}",
        f"--service-cluster-ip-range={layout.SERVICE_CIDR}",
        "--use-service-account-credentials=true",
        "--controllers=*",
        "--leader-elect=false",  # one instance; a restart must not wait for a lease
        "--profiling=false",
    ]


def _scheduler_argv(lay: Layout) -> list[str]:
    p = lay.pki_dir
    return [
        lay.binary("kube-scheduler"),
        f"--kubeconfig={lay.component_kubeconfig('scheduler')}",
        f"--bind-address={layout.HOST}",
        f"--secure-port={lay.ports['scheduler']}",
        f"--tls-cert-file={p / 'serving.crt'}",
        f"--tls-private-key-file={p / 'serving.key'}",
        "--leader-elect=false",
        "--profiling=false",
    ]


def _podemu_argv(lay: Layout) -> list[str]:
    return [sys.executable, "-m", "devcluster.podemu", f"--state-dir={lay.state_dir}"]


_http = urllib3.PoolManager(retries=False, timeout=2.0)


def _ok(url: str, ca: Path | None = None) -> bool:
    pool = urllib3.PoolManager(ca_certs=str(ca), retries=False, timeout=2.0) if ca else _http
    return pool.request("GET", url).status == 200


def _probe_etcd(lay: Layout) -> bool:
    return _ok(f"http://{layout.HOST}:{lay.ports['etcd']}/health")


def _probe_apiserver(lay: Layout) -> bool:
    return Api.for_client(lay, "admin").get_text("/readyz")[0] == 200


def _probe_healthz(port: str) -> Callable[[Layout], bool]:
    def probe(lay: Layout) -> bool:
        return _ok(f"https://{layout.HOST}:{lay.ports[port]}/healthz", lay.pki_dir / "ca.crt")

    return probe


def _probe_kwok(lay: Layout) -> bool:
    return _ok(f"http://{layout.HOST}:{lay.ports['kwok']}/healthz")


def _probe_podemu(lay: Layout) -> bool:
    return (lay.run_dir / "podemu.ready").exists()


@dataclass(frozen=True)
class Component:
    """A supervised process: how to start it, which port it owns, how to tell it is ready."""

    name: str
    port: str | None
    argv: Callable[[Layout], list[str]]
    probe: Callable[[Layout], bool]
    timeout: float = 60.0


#: Start order. Everything after the API server starts together, once it is ready.
COMPONENTS: tuple[Component, ...] = (
    Component("etcd", "etcd", _etcd_argv, _probe_etcd, 30.0),
    Component("kube-apiserver", "apiserver", _apiserver_argv, _probe_apiserver, 120.0),
    Component(
        "kube-controller-manager",
        "controller_manager",
        _controller_manager_argv,
        _probe_healthz("controller_manager"),
    ),
    Component("kube-scheduler", "scheduler", _scheduler_argv, _probe_healthz("scheduler")),
    Component("kwok", "kwok", kwok.argv, _probe_kwok),
    Component("podemu", None, _podemu_argv, _probe_podemu),
)
_AFTER_APISERVER = COMPONENTS[2:]
#: Ports a component owns beyond its main one (etcd's peer port).
_EXTRA_PORTS = {"etcd": ("etcd_peer",)}


def _running(lay: Layout) -> dict[str, int | None]:
    return {c.name: processes.running_pid(lay.run_dir, c.name) for c in COMPONENTS}


def _check_ports(lay: Layout) -> None:
    for comp in COMPONENTS:
        for port_name in (comp.port, *_EXTRA_PORTS.get(comp.name, ())):
            if port_name is None:
                continue
            port = lay.ports[port_name]
            if processes.port_in_use(port):
                var = PORT_DEFAULTS[port_name][0]
                raise StartError(
                    f"port {port} ({comp.name}) is already in use on {layout.HOST}; "
                    f"stop whatever listens there or pick another port with {var}=<port>"
                )


def _prepare_state(lay: Layout) -> None:
    """Fresh data, kept PKI, rewritten kubeconfigs (the ports may have changed)."""
    for stale in (lay.etcd_data_dir, lay.pods_dir, lay.run_dir, lay.kwok_dir):
        shutil.rmtree(stale, ignore_errors=True)
    for folder in (lay.run_dir, lay.log_dir, lay.pods_dir):
        folder.mkdir(parents=True, exist_ok=True)
    if not pki.pki_complete(lay.pki_dir):
        shutil.rmtree(lay.pki_dir, ignore_errors=True)
        pki.generate(lay.pki_dir)
    lay.kubeconfig.write_text(pki.kubeconfig(lay.server, lay.pki_dir, "admin"))
    for client in pki.KUBECONFIG_CLIENTS:
        lay.component_kubeconfig(client).write_text(pki.kubeconfig(lay.server, lay.pki_dir, client))
    kwok.write_config(lay)
    lay.save()


def _start(lay: Layout, comp: Component) -> None:
    processes.start(comp.name, comp.argv(lay), lay.run_dir, lay.log_dir, cwd=layout.REPO_ROOT)


def _wait(lay: Layout, comp: Component) -> None:
    processes.wait_ready(comp.name, lambda: comp.probe(lay), lay.run_dir, lay.log_dir, comp.timeout)


def _create(api: Api, path: str, obj: dict[str, object]) -> None:
    try:
        api.request("POST", path, obj)
    except ApiError as exc:
        if exc.status != 409:
            raise


def _wait_for(what: str, check: Callable[[], bool], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            if check():
                return
        except ApiError:
            pass
        if time.monotonic() > deadline:
            raise StartError(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(0.1)


def _condition(obj: dict[str, Any], kind: str) -> bool:
    """Whether ``obj`` reports condition ``kind`` True (a new object may have none yet)."""
    conditions = (obj.get("status") or {}).get("conditions") or []
    return any(c.get("type") == kind and c.get("status") == "True" for c in conditions)


def _bootstrap(lay: Layout) -> None:
    """Objects the components need before they start: kwok's Logs CRD, the node."""
    api = Api.for_client(lay, "admin")
    crd = kwok.logs_crd()
    _create(api, "/apis/apiextensions.k8s.io/v1/customresourcedefinitions", crd)
    _create(api, "/api/v1/nodes", kwok.node())
    crd_path = f"/apis/apiextensions.k8s.io/v1/customresourcedefinitions/{crd['metadata']['name']}"
    _wait_for("kwok's Logs CRD", lambda: _condition(api.get(crd_path), "Established"), 30)


def _wait_usable(lay: Layout) -> None:
    api = Api.for_client(lay, "admin")
    node_path = f"/api/v1/nodes/{layout.NODE_NAME}"
    _wait_for(f"node {layout.NODE_NAME} Ready", lambda: _condition(api.get(node_path), "Ready"), 60)
    sa_path = "/api/v1/namespaces/default/serviceaccounts/default"
    _wait_for("the default ServiceAccount", lambda: bool(api.get(sa_path)), 60)


def is_running(state_dir: Path | None = None) -> bool:
    """Whether every component of the cluster in ``state_dir`` runs."""
    return all(_running(Layout.load(state_dir)).values())


def missing_binaries(lay: Layout) -> list[str]:
    return [name for name in build.REQUIRED if not (lay.bin_dir / name).exists()]


def up(state_dir: Path | None = None) -> Layout:
    """Start the cluster, or report that it already runs; raise StartError on failure."""
    recorded = Layout.load(state_dir)
    running = _running(recorded)
    alive = [name for name, pid in running.items() if pid]
    if len(alive) == len(COMPONENTS):
        print(f"devcluster already running (state {recorded.state_dir})")
        return recorded
    if alive:
        raise StartError(
            f"devcluster is partly running ({', '.join(alive)}); "
            "run `python -m devcluster down` first, then `up`"
        )
    lay = Layout.fresh(state_dir)
    missing = missing_binaries(lay)
    if missing:
        raise StartError(
            f"binaries not built yet: {', '.join(missing)} in {lay.bin_dir}; "
            "run `python -m devcluster.build` (10-25 minutes the first time)"
        )
    _check_ports(lay)
    began = time.monotonic()
    try:
        image_build.ensure_image()
    except (image_build.ImageBuildError, SandboxError) as exc:
        raise StartError(f"the runner image (which runner pods run from) failed: {exc}") from None
    _prepare_state(lay)
    try:
        for comp in COMPONENTS[:2]:
            _start(lay, comp)
            _wait(lay, comp)
        _bootstrap(lay)
        for comp in _AFTER_APISERVER:
            _start(lay, comp)
        for comp in _AFTER_APISERVER:
            _wait(lay, comp)
        _wait_usable(lay)
    except BaseException:
        down(lay.state_dir, quiet=True)
        raise
    print(f"devcluster up in {time.monotonic() - began:.1f}s (state {lay.state_dir})")
    return lay


def down(state_dir: Path | None = None, purge: bool = False, quiet: bool = False) -> bool:
    """Stop every component (the pod emulator first, etcd last); True if any was running."""
    lay = Layout.load(state_dir)
    any_running = False
    for comp in reversed(COMPONENTS):
        if processes.stop(lay.run_dir, comp.name):
            any_running = True
            if not quiet:
                print(f"stopped {comp.name}")
    if lay.pods_dir.exists():
        podemu.stop_leftovers(lay.pods_dir)
    (lay.run_dir / "podemu.ready").unlink(missing_ok=True)
    if purge:
        shutil.rmtree(lay.state_dir, ignore_errors=True)
    if not quiet and not any_running:
        print("devcluster was not running")
    return any_running


#: Components that are only clients of the API server (restarted along with it).
API_CLIENTS = ("kube-controller-manager", "kube-scheduler", "kwok")


def restart(name: str, state_dir: Path | None = None) -> None:
    """Stop one component and start it again (fault tests: "the API server restarts")."""
    comps = {c.name: c for c in COMPONENTS}
    if name not in comps:
        raise StartError(f"no component {name!r}; choose from {', '.join(comps)}")
    lay = Layout.load(state_dir)
    processes.stop(lay.run_dir, name)
    if name == "podemu":
        (lay.run_dir / "podemu.ready").unlink(missing_ok=True)
    _start(lay, comps[name])
    _wait(lay, comps[name])
    if name == "kube-apiserver":
        # Their clients back off for up to ~50 s after losing the API server, and a
        # namespace created meanwhile waits that long for its default ServiceAccount.
        # A restart of each (well under a second) reconnects them at once.
        for dependent in API_CLIENTS:
            processes.stop(lay.run_dir, dependent)
            _start(lay, comps[dependent])
            _wait(lay, comps[dependent])


def status(state_dir: Path | None = None) -> bool:
    """Print one line per component; True if all of them run."""
    lay = Layout.load(state_dir)
    running = _running(lay)
    print(f"state dir:  {lay.state_dir}")
    print(f"server:     {lay.server}")
    print(f"kubeconfig: {lay.kubeconfig}")
    for comp in COMPONENTS:
        pid = running[comp.name]
        port = f"{layout.HOST}:{lay.ports[comp.port]}" if comp.port else "-"
        state = f"running (pid {pid})" if pid else "stopped"
        print(f"  {comp.name:<24} {state:<22} {port}")
    return all(running.values())


def env_lines(state_dir: Path | None = None) -> list[str]:
    lay = Layout.load(state_dir)
    return [f"export KUBECONFIG={lay.kubeconfig}", f'export PATH="{lay.bin_dir}:$PATH"']
