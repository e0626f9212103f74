"""``kubectl trigger logs`` reads the runner pod's log through the API server (kwok)."""

from __future__ import annotations

import pytest

from tests.conftest import Cluster
from tests.e2e.plugin_support import installed, plugin, running_pod, submit  # noqa: F401 - fixture
from tests.polling import wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("installed")]

SPEC = {
    "source": {"resource": {"apiVersion": "v1", "kind": "ConfigMap"}},
    "actions": [{"log": {"message": "x"}}],
}
SIMULATED = "devcluster: this container is simulated by kwok"


def test_logs_of_the_runner_pod(cluster: Cluster, namespace: str) -> None:
    submit(cluster, "create", namespace, "web", SPEC)
    wait_for(lambda: running_pod(cluster, namespace, "web"), 60, "the runner pod Running")
    out = plugin(cluster, "logs", "web", "-n", namespace).stdout
    assert SIMULATED in out
    tail = plugin(cluster, "logs", "web", "-n", namespace, "--tail", "1", "--timestamps").stdout
    assert len(tail.splitlines()) == 1 and SIMULATED in tail and tail[:2] == "20"
    assert plugin(cluster, "logs", "web", "-n", namespace, "--since", "1h").returncode == 0


def test_logs_errors(cluster: Cluster, namespace: str) -> None:
    missing = plugin(cluster, "logs", "nope", "-n", namespace, check=False)
    assert missing.returncode == 3
    bad = plugin(cluster, "logs", "nope", "-n", namespace, "--since", "5 minutes", check=False)
    assert bad.returncode == 2 and "--since" in bad.stderr
