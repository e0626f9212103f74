"""The devcluster CLI's lifecycle: a second ``up`` is harmless, ``down`` leaves nothing behind.

This starts its own control plane in a temporary state dir on free ports, so it
neither needs nor disturbs the session's cluster.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from devcluster import cluster, processes
from devcluster.layout import PORT_DEFAULTS, REPO_ROOT

pytestmark = pytest.mark.e2e


def free_ports(count: int) -> list[int]:
    socks = [socket.socket() for _ in range(count)]
    try:
        for sock in socks:
            sock.bind(("127.0.0.1", 0))
        return [sock.getsockname()[1] for sock in socks]
    finally:
        for sock in socks:
            sock.close()


def devcluster(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "devcluster", *args],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )


def test_up_twice_is_harmless_and_down_leaves_nothing(tmp_path: Path) -> None:
    ports = dict(zip(PORT_DEFAULTS, free_ports(len(PORT_DEFAULTS)), strict=True))
    env = {**os.environ, "KT_CLUSTER_DIR": str(tmp_path / "cluster")}
    env.update({PORT_DEFAULTS[name][0]: str(port) for name, port in ports.items()})
    run_dir = tmp_path / "cluster" / "run"
    records: dict[str, processes.PidRecord | None] = {}
    try:
        first = devcluster(env, "up")
        assert first.returncode == 0, first.stderr + first.stdout
        assert "devcluster up in" in first.stdout
        records = {
            c.name: processes.read_record(run_dir / f"{c.name}.pid") for c in cluster.COMPONENTS
        }
        assert all(processes.record_alive(r) for r in records.values())
        assert all(processes.port_in_use(port) for name, port in ports.items())

        second = devcluster(env, "up")
        assert second.returncode == 0, second.stderr
        assert "already running" in second.stdout
        again = {
            c.name: processes.read_record(run_dir / f"{c.name}.pid") for c in cluster.COMPONENTS
        }
        assert again == records  # nothing restarted

        exports = devcluster(env, "env").stdout
        assert f"export KUBECONFIG={tmp_path / 'cluster' / 'kubeconfig'}" in exports

        clash = devcluster({**env, "KT_CLUSTER_DIR": str(tmp_path / "other")}, "up")
        assert clash.returncode == 1
        assert f"port {ports['etcd']}" in clash.stderr and "KT_ETCD_PORT" in clash.stderr

        assert devcluster(env, "status").returncode == 0
    finally:
        stopped = devcluster(env, "down")
    assert stopped.returncode == 0, stopped.stderr
    for name, record in records.items():
        assert record is not None
        assert processes.group_members(record.pid) == [], f"{name} left processes behind"
    for name, port in ports.items():
        assert not processes.port_in_use(port), f"port {port} ({name}) still in use"
    assert devcluster(env, "status").returncode == 3
