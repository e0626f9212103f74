"""Every examples/*.yaml is created by the real plugin against the real cluster."""

from __future__ import annotations

import json
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

#: A stand-in for KubeVela's Application CRD, so its example resolves through discovery.
APPLICATION_CRD = {
    "apiVersion": "apiextensions.k8s.io/v1",
    "kind": "CustomResourceDefinition",
    "metadata": {"name": "applications.core.oam.dev"},
    "spec": {
        "group": "core.oam.dev",
        "scope": "Namespaced",
        "names": {
            "kind": "Application",
            "plural": "applications",
            "singular": "application",
            "listKind": "ApplicationList",
        },
        "versions": [
            {
                "name": "v1beta1",
                "served": True,
                "storage": True,
                "schema": {
                    "openAPIV3Schema": {
                        "type": "object",
                        "x-kubernetes-preserve-unknown-fields": True,
                    }
                },
            }
        ],
    },
}


@pytest.fixture(scope="module")
def with_kubevela(cluster: Cluster) -> None:
    cluster.kubectl("apply", "--server-side", "-f", "-", input=json.dumps(APPLICATION_CRD))
    cluster.kubectl(
        "wait", "--for=condition=Established", "--timeout=30s", "crd/applications.core.oam.dev"
    )


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.stem for p in EXAMPLES])
@pytest.mark.usefixtures("with_kubevela")
def test_example_creates_and_deletes(cluster: Cluster, namespace: str, path: Path) -> None:
    names = [
        d["metadata"]["name"]
        for d in yaml.safe_load_all(path.read_text())
        if d and d["kind"] == "Trigger"
    ]
    assert names, f"{path.name} has no Trigger"
    plugin(cluster, "create", "-f", str(path), "-n", namespace, "--image", FAKE_IMAGE)
    for name in names:
        assert get_or_none(cluster, "trigger", name, "-n", namespace) is not None
        assert get_or_none(cluster, "deployment", f"trigger-{name}", "-n", namespace) is not None
    plugin(cluster, "delete", "-f", str(path), "-n", namespace)
    for name in names:
        assert (
            labelled(cluster, "serviceaccounts,roles,rolebindings,deployments", namespace, name)
            == []
        )
