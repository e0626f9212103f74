"""Fixtures shared by the end-to-end tests (the runner harness itself is in runner_support)."""

from __future__ import annotations

import json
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import Cluster
from tests.e2e.runner_support import CRD_NAME, REPO, Runner


@pytest.fixture(scope="module")
def crd(cluster: Cluster) -> Cluster:
    """The Trigger CRD as this checkout defines it (manifests/crd.yaml), established.

    Applied every time: a long-lived dev cluster may hold an older schema.
    """
    cluster.kubectl(
        "apply", "--server-side", "--force-conflicts", "-f", str(REPO / "manifests" / "crd.yaml")
    )
    cluster.kubectl("wait", "--for=condition=Established", f"crd/{CRD_NAME}", "--timeout=60s")
    return cluster


@pytest.fixture
def runner(crd: Cluster, namespace: str, tmp_path: Path) -> Iterator[Runner]:
    """A runner for the Trigger ``engine`` in the test's namespace (started by the test)."""
    handle = Runner(crd, namespace, "engine", tmp_path)
    yield handle
    if handle.proc is not None and handle.proc.poll() is None:
        handle.kill(signal.SIGTERM)


#: A small stand-in for KubeVela's Application CRD: enough for discovery and patches.
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
def kubevela(cluster: Cluster) -> None:
    """KubeVela's Application kind served by the API server (bumpApplicationRevision)."""
    cluster.kubectl("apply", "--server-side", "-f", "-", input=json.dumps(APPLICATION_CRD))
    cluster.kubectl(
        "wait", "--for=condition=Established", "--timeout=30s", "crd/applications.core.oam.dev"
    )
