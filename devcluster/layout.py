"""Where the local control plane keeps its files and which ports it listens on.

Every other devcluster module asks this one for a path or a port, so the state
directory has one shape and the port defaults live in one table. ``up`` records
the ports it used in ``cluster.json``; ``status``, ``env``, ``down`` and the pod
emulator read them back, so a cluster started with custom ports is still found
by commands run without the environment variables.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

from devcluster import versions

REPO_ROOT = Path(__file__).resolve().parent.parent

#: port name -> (environment variable, default). Defaults stay clear of the
#: standard Kubernetes ports so a real cluster on the same machine does not clash.
PORT_DEFAULTS: dict[str, tuple[str, int]] = {
    "etcd": ("KT_ETCD_PORT", 12379),
    "etcd_peer": ("KT_ETCD_PEER_PORT", 12380),
    "apiserver": ("KT_APISERVER_PORT", 16443),
    "controller_manager": ("KT_CONTROLLER_MANAGER_PORT", 17257),
    "scheduler": ("KT_SCHEDULER_PORT", 17259),
    "kwok": ("KT_KWOK_PORT", 17250),
}

HOST = "127.0.0.1"
SERVICE_CIDR = "10.96.0.0/16"
SERVICE_IP = "10.96.0.1"  # first address of SERVICE_CIDR: the `kubernetes` Service
ISSUER = "https://kubernetes.default.svc.cluster.local"
NODE_NAME = "kt-node"


def default_state_dir() -> Path:
    """The state dir: env KT_CLUSTER_DIR, else .devcluster in the checkout (gitignored)."""
    return Path(os.environ.get("KT_CLUSTER_DIR") or REPO_ROOT / ".devcluster").resolve()


def ports_from_env() -> dict[str, int]:
    """Ports for a new cluster, each overridable by its environment variable."""
    ports = {}
    for name, (var, default) in PORT_DEFAULTS.items():
        raw = os.environ.get(var, "")
        try:
            ports[name] = int(raw) if raw else default
        except ValueError:
            raise ValueError(f"{var}={raw!r} is not a port number") from None
    return ports


@dataclass(frozen=True)
class Layout:
    """One cluster's files and ports; derived paths are properties, never stored twice."""

    state_dir: Path
    ports: dict[str, int]
    bin_dir: Path

    @classmethod
    def load(cls, state_dir: Path | None = None) -> Layout:
        """The recorded layout of a cluster that was started, else a new one from env."""
        state = (state_dir or default_state_dir()).resolve()
        recorded = state / "cluster.json"
        if recorded.exists():
            data = json.loads(recorded.read_text())
            return cls(state, {k: int(v) for k, v in data["ports"].items()}, Path(data["bin_dir"]))
        return cls(state, ports_from_env(), versions.bin_dir())

    @classmethod
    def fresh(cls, state_dir: Path | None = None) -> Layout:
        """A layout for a new start: ports from the environment, not from the record."""
        state = (state_dir or default_state_dir()).resolve()
        return cls(state, ports_from_env(), versions.bin_dir())

    def save(self) -> None:
        self.state_dir.mkdir(parents=True, exist_ok=True)
        data = {**asdict(self), "state_dir": str(self.state_dir), "bin_dir": str(self.bin_dir)}
        (self.state_dir / "cluster.json").write_text(json.dumps(data, indent=2) + "\n")

    @property
    def pki_dir(self) -> Path:
        return self.state_dir / "pki"

    @property
    def run_dir(self) -> Path:
        """Pid files and readiness markers."""
        return self.state_dir / "run"

    @property
    def log_dir(self) -> Path:
        """One log file per component."""
        return self.state_dir / "logs"

    @property
    def etcd_data_dir(self) -> Path:
        return self.state_dir / "etcd"

    @property
    def pods_dir(self) -> Path:
        """The pod emulator's per-pod folders: container logs, service-account files."""
        return self.state_dir / "pods"

    @property
    def kwok_dir(self) -> Path:
        return self.state_dir / "kwok"

    @property
    def kubeconfig(self) -> Path:
        """The admin kubeconfig handed to users and tests."""
        return self.state_dir / "kubeconfig"

    @property
    def server(self) -> str:
        return f"https://{HOST}:{self.ports['apiserver']}"

    def binary(self, name: str) -> str:
        return str(self.bin_dir / name)

    def component_kubeconfig(self, name: str) -> Path:
        return self.pki_dir / f"{name}.kubeconfig"
