"""Bad input creates nothing: every malformed spec fails with exit 2, naming the field.

The corpus lives in tests/data/bad_specs/NN-name.yaml; each file's first line
is ``# expect: <substring of the error>``. Each is given to the real
``kubectl-trigger create -f`` against the real cluster, and afterwards the
namespace must hold no Trigger, ServiceAccount, Role or Deployment.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import Cluster
from tests.e2e.plugin_support import (
    FAKE_IMAGE,
    installed,  # noqa: F401 - fixture
    plugin,
    submit,
    submit_text,
    trigger_yaml,
)

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("installed")]

CORPUS = Path(__file__).resolve().parents[1] / "data" / "bad_specs"
SPECS = sorted(CORPUS.glob("*.yaml"))
NOTHING = "triggers.triggers.kubectl-trigger.dev,serviceaccounts,roles,rolebindings,deployments"


def expected(path: Path) -> str:
    first = path.read_text(encoding="utf-8").splitlines()[0]
    assert first.startswith("# expect: "), f"{path.name}: first line must be '# expect: ...'"
    return first.removeprefix("# expect: ").strip()


def assert_nothing_created(cluster: Cluster, namespace: str) -> None:
    out = cluster.kubectl("get", NOTHING, "-n", namespace, "-o", "json").stdout
    left = [
        f"{o['kind']}/{o['metadata']['name']}"
        for o in json.loads(out)["items"]
        if o["metadata"]["name"] != "default"  # the namespace's own ServiceAccount
    ]
    assert left == []


def test_corpus_is_big_enough() -> None:
    assert len(SPECS) >= 30, f"{CORPUS} holds {len(SPECS)} specs"


@pytest.mark.parametrize("path", SPECS, ids=[p.stem for p in SPECS])
def test_bad_spec_is_rejected(cluster: Cluster, namespace: str, path: Path) -> None:
    proc = plugin(
        cluster, "create", "-f", str(path), "-n", namespace, "--image", FAKE_IMAGE, check=False
    )
    assert proc.returncode == 2, proc.stderr
    assert expected(path) in proc.stderr
    assert proc.stdout == ""
    assert_nothing_created(cluster, namespace)


def test_unknown_kind_fails_discovery_before_any_write(cluster: Cluster, namespace: str) -> None:
    spec = {
        "source": {"resource": {"apiVersion": "v1", "kind": "NoSuchKind"}},
        "actions": [{"log": {"message": "x"}}],
    }
    proc = plugin(
        cluster, "create", "-f", "-", "-n", namespace, input=trigger_yaml("t", spec), check=False
    )
    assert proc.returncode == 2
    assert "spec.source.resource: kind NoSuchKind (apiVersion v1) is not served" in proc.stderr
    assert_nothing_created(cluster, namespace)


def test_one_bad_document_means_none_is_created(cluster: Cluster, namespace: str) -> None:
    good = {
        "source": {"resource": {"apiVersion": "v1", "kind": "ConfigMap"}},
        "actions": [{"log": {"message": "x"}}],
    }
    bad = {**good, "actions": [{"noSuchAction": {}}]}
    text = trigger_yaml("good", good) + "---\n" + trigger_yaml("bad", bad)
    proc = submit_text(cluster, "create", namespace, text, check=False)
    assert proc.returncode == 2
    assert "<stdin>#2" in proc.stderr and "spec.actions[0]" in proc.stderr
    assert_nothing_created(cluster, namespace)


def test_failed_write_midway_is_rolled_back(cluster: Cluster, namespace: str) -> None:
    # a quota of zero Deployments makes the last write fail after the others succeeded
    cluster.kubectl(
        "create", "quota", "no-deployments", "-n", namespace, "--hard=count/deployments.apps=0"
    )
    good = {
        "source": {"resource": {"apiVersion": "v1", "kind": "ConfigMap"}},
        "actions": [{"log": {"message": "x"}}],
    }
    proc = submit(cluster, "create", namespace, "web", good, check=False)
    assert proc.returncode != 0
    assert "exceeded quota" in proc.stderr
    assert "objects created by this command were deleted again" in proc.stderr
    assert_nothing_created(cluster, namespace)


def test_existing_object_of_someone_else_is_not_taken_over(
    cluster: Cluster, namespace: str
) -> None:
    cluster.kubectl("create", "serviceaccount", "trigger-web", "-n", namespace)
    good = {
        "source": {"resource": {"apiVersion": "v1", "kind": "ConfigMap"}},
        "actions": [{"log": {"message": "x"}}],
    }
    proc = submit(cluster, "create", namespace, "web", good, check=False)
    assert proc.returncode == 1
    assert f"ServiceAccount {namespace}/trigger-web already exists and does not belong" in (
        proc.stderr
    )
    out = cluster.kubectl("get", "triggers,roles,deployments", "-n", namespace, "-o", "name").stdout
    assert out == ""
