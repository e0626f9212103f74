"""Fixtures for the end-to-end tier: one real local control plane per test session.

``cluster`` starts the devcluster once (or reuses one already started with
``python -m devcluster up``, which it then leaves running) and ``namespace``
gives each test a fresh namespace. A control plane that cannot start fails the
session loudly with the reason; e2e tests are never skipped, in CI or not.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from devcluster import cluster as devcluster
from devcluster.layout import Layout


class KubectlError(subprocess.CalledProcessError):
    """A failed kubectl call whose message shows what kubectl said."""

    def __str__(self) -> str:
        return f"{' '.join(self.cmd)} exited {self.returncode}:\n{self.stderr}{self.stdout}"


@dataclass
class Cluster:
    """Handle on the running control plane, as tests see it."""

    kubeconfig: str
    server: str
    bin_dir: Path
    state_dir: Path
    owned: bool = field(default=False, repr=False)

    def kubectl(
        self, *args: str, check: bool = True, input: str | None = None, timeout: float = 60
    ) -> subprocess.CompletedProcess[str]:
        """Run the built kubectl against this cluster."""
        cmd = [str(self.bin_dir / "kubectl"), f"--kubeconfig={self.kubeconfig}", *args]
        proc = subprocess.run(
            cmd, input=input, capture_output=True, text=True, timeout=timeout, check=False
        )
        if check and proc.returncode != 0:
            raise KubectlError(proc.returncode, cmd, proc.stdout, proc.stderr)
        return proc

    def get_json(self, *args: str) -> Any:
        """``kubectl get ARGS -o json``, parsed."""
        return json.loads(self.kubectl("get", *args, "-o", "json").stdout)

    def restart(self, component: str) -> None:
        """Stop one control-plane component and start it again; returns once it is ready.

        Restarting ``kube-apiserver`` also empties its watch cache, so a watch resumed
        from a resourceVersion read before the restart gets 410 Gone: the forced 410.
        """
        devcluster.restart(component, self.state_dir)


def _layout_cluster(lay: Layout, owned: bool) -> Cluster:
    return Cluster(str(lay.kubeconfig), lay.server, lay.bin_dir, lay.state_dir, owned)


@pytest.fixture(scope="session")
def cluster() -> Iterator[Cluster]:
    """The local control plane: reused if already up, else started now and stopped at the end."""
    if devcluster.is_running():
        handle = _layout_cluster(Layout.load(), owned=False)
    else:
        try:
            handle = _layout_cluster(devcluster.up(), owned=True)
        except Exception as exc:  # any reason at all must fail the session, never skip it
            pytest.fail(f"the local control plane could not start: {exc}", pytrace=False)
    os.environ["KUBECONFIG"] = handle.kubeconfig
    yield handle
    if handle.owned:
        devcluster.down(handle.state_dir, quiet=True)


def _namespace_name(test_name: str) -> str:
    base = re.sub(r"[^a-z0-9-]+", "-", test_name.lower()).strip("-")[:40].strip("-")
    return f"t-{base}-{secrets.token_hex(3)}"


@pytest.fixture
def namespace(cluster: Cluster, request: pytest.FixtureRequest) -> Iterator[str]:
    """A fresh namespace whose ``default`` ServiceAccount exists; deleted afterwards (no wait)."""
    name = _namespace_name(request.node.name)
    cluster.kubectl("create", "namespace", name)
    deadline = time.monotonic() + 30
    while cluster.kubectl("get", "serviceaccount", "default", "-n", name, check=False).returncode:
        if time.monotonic() > deadline:
            pytest.fail(f"ServiceAccount default never appeared in namespace {name}")
        time.sleep(0.1)
    yield name
    cluster.kubectl("delete", "namespace", name, "--wait=false", check=False)
