"""Every examples/*.yaml is created by the real plugin against the real cluster."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from tests.conftest import Cluster
from tests.e2e.plugin_support import (
    FAKE_IMAGE,
    get_or_none,
    installed,  # noqa: F401 - fixture
    labelled,
    plugin,
)

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("installed")]

EXAMPLES = sorted((Path(__file__).resolve().parents[2] / "examples").glob("*.yaml"))


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.stem for p in EXAMPLES])
@pytest.mark.usefixtures("kubevela")
def test_example_creates_and_deletes(cluster: Cluster, namespace: str, path: Path) -> None:
    docs = [d for d in yaml.safe_load_all(path.read_text()) if d]
    names = [d["metadata"]["name"] for d in docs if d["kind"] == "Trigger"]
    cluster_names = [d["metadata"]["name"] for d in docs if d["kind"] == "ClusterTrigger"]
    assert names or cluster_names, f"{path.name} has no Trigger or ClusterTrigger"
    plugin(cluster, "create", "-f", str(path), "-n", namespace, "--image", FAKE_IMAGE)
    for name in names:
        assert get_or_none(cluster, "trigger", name, "-n", namespace) is not None
        assert get_or_none(cluster, "deployment", f"trigger-{name}", "-n", namespace) is not None
    for name in cluster_names:  # its runner lives in the controlled namespace
        assert get_or_none(cluster, "clustertrigger", name) is not None
        runner = f"clustertrigger-{name}"
        assert get_or_none(cluster, "deployment", runner, "-n", "kubectl-trigger-system")
    plugin(cluster, "delete", "-f", str(path), "-n", namespace)
    for name in names:
        assert (
            labelled(cluster, "serviceaccounts,roles,rolebindings,deployments", namespace, name)
            == []
        )
    for name in cluster_names:
        selector = f"triggers.kubectl-trigger.dev/clustertrigger={name}"
        kinds = "serviceaccounts,roles,rolebindings,deployments,clusterroles,clusterrolebindings"
        assert cluster.get_json(kinds, "-A", "-l", selector)["items"] == []
