"""With the real runner: create -> it runs -> a change fires its action -> status -> delete.

The runner image is on the pod emulator's allowlist, so its pod is a real
``python -m runner`` process on this machine, with the ServiceAccount token the
plugin's RBAC grants. This is the flagship example end to end: a ConfigMap's
data changes, and the Deployments that use it are restarted.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from tests.conftest import Cluster
from tests.e2e.plugin_support import (  # noqa: F401 - fixture
    FAKE_IMAGE,
    get_or_none,
    installed,
    labelled,
    plugin,
    running_pod,
)
from tests.polling import wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("installed")]

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "restart-on-configmap-change.yaml"
NAME = "restart-on-config-change"
LABEL = "triggers.kubectl-trigger.dev/restart-consumers=true"


def _consumer(namespace: str) -> dict:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "namespace": namespace},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": {"app": "web"}},
            "template": {
                "metadata": {"labels": {"app": "web"}},
                "spec": {
                    "containers": [
                        {
                            "name": "web",
                            "image": FAKE_IMAGE,
                            "envFrom": [{"configMapRef": {"name": "web-config"}}],
                        }
                    ],
                },
            },
        },
    }


def _restarted_at(cluster: Cluster, namespace: str) -> str | None:
    dep = get_or_none(cluster, "deployment", "web", "-n", namespace)
    ann = (dep or {}).get("spec", {}).get("template", {}).get("metadata", {}).get(
        "annotations"
    ) or {}
    return ann.get("kubectl.kubernetes.io/restartedAt")


def _counters(cluster: Cluster, namespace: str) -> dict:
    trig = get_or_none(cluster, "trigger", NAME, "-n", namespace) or {}
    return dict((trig.get("status") or {}).get("counters") or {})


def test_flagship_example_end_to_end(cluster: Cluster, namespace: str) -> None:
    cluster.kubectl("create", "configmap", "web-config", "-n", namespace, "--from-literal=a=1")
    cluster.kubectl("label", "configmap", "web-config", "-n", namespace, LABEL)
    cluster.kubectl("create", "configmap", "unrelated", "-n", namespace, "--from-literal=a=1")
    cluster.kubectl("create", "-f", "-", input=json.dumps(_consumer(namespace)))

    plugin(cluster, "create", "-f", str(EXAMPLE), "-n", namespace)
    wait_for(lambda: running_pod(cluster, namespace, NAME), 60, "the runner pod Running")
    wait_for(
        lambda: any(
            c.get("type") == "Ready" and c.get("status") == "True"
            for c in (
                (get_or_none(cluster, "trigger", NAME, "-n", namespace) or {}).get("status") or {}
            ).get("conditions")
            or []
        ),
        60,
        "the runner to report Ready in the Trigger's status",
    )
    assert _restarted_at(cluster, namespace) is None  # start-up fires nothing

    # a change to an unlabelled ConfigMap, and a label-only change: nothing fires
    cluster.kubectl("patch", "configmap", "unrelated", "-n", namespace, "-p", '{"data":{"a":"2"}}')
    cluster.kubectl("label", "configmap", "web-config", "-n", namespace, "x=y")
    time.sleep(2)
    assert _restarted_at(cluster, namespace) is None

    cluster.kubectl("patch", "configmap", "web-config", "-n", namespace, "-p", '{"data":{"a":"2"}}')
    wait_for(lambda: _restarted_at(cluster, namespace), 30, "the consumer to be restarted")
    wait_for(
        lambda: _counters(cluster, namespace).get("eventsMatched", 0) >= 1,
        30,
        "status.counters.eventsMatched to rise",
    )
    counters = _counters(cluster, namespace)
    assert counters["actionsSucceeded"] >= 1 and counters.get("actionsFailed", 0) == 0

    row = plugin(cluster, "get", "triggers", "-n", namespace).stdout.splitlines()[1].split()
    # READY, REASON, SYNCED
    assert row[:6] == [NAME, "ConfigMap", "rolloutRestart", "True", "Running", "True"]
    assert int(row[6]) >= 1  # FIRED
    logs = plugin(cluster, "logs", NAME, "-n", namespace).stdout
    assert logs.strip() and all(json.loads(line) for line in logs.splitlines())

    plugin(cluster, "delete", NAME, "-n", namespace)
    assert get_or_none(cluster, "trigger", NAME, "-n", namespace) is None
    assert (
        labelled(
            cluster,
            "serviceaccounts,roles,rolebindings,deployments,replicasets,pods",
            namespace,
            NAME,
        )
        == []
    )


TEMPLATE_EXAMPLE = EXAMPLE.with_name("template-shared-actions.yaml")


def test_runner_runs_the_template_expansion(cluster: Cluster, namespace: str) -> None:
    """The Trigger's spec says ``use: log-change``; the runner runs what it expands to."""
    name = "log-secret-changes"
    plugin(cluster, "create", "-f", str(TEMPLATE_EXAMPLE), "-n", namespace)
    wait_for(lambda: running_pod(cluster, namespace, name), 60, "the runner pod Running")

    def ready() -> bool:
        trig = get_or_none(cluster, "trigger", name, "-n", namespace) or {}
        conditions = (trig.get("status") or {}).get("conditions") or []
        return any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions)

    wait_for(ready, 60, "the runner to report Ready (it parsed the expanded spec)")
    cluster.kubectl("create", "secret", "generic", "db-pass", "-n", namespace, "--from-literal=p=x")

    def logged() -> list[dict]:
        out = plugin(cluster, "logs", name, "-n", namespace).stdout
        lines = [json.loads(line) for line in out.splitlines() if line.strip()]
        return [entry for entry in lines if entry.get("message") == "create Secret db-pass"]

    entries = wait_for(logged, 30, "the template's log action to log the new Secret")
    assert len(entries) == 1
    plugin(cluster, "delete", "-f", str(TEMPLATE_EXAMPLE), "-n", namespace)
